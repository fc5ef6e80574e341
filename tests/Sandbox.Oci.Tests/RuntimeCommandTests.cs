using System.Text.Json.Nodes;
using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>A busybox rootfs and a state root for one test class; checks at the end that nothing was left.</summary>
public sealed class BundleFixture : IDisposable
{
    public BundleFixture()
    {
        Dir = Directory.CreateTempSubdirectory("sandbox-oci-test-").FullName;
        Rootfs = MakeRootfs(Path.Combine(Dir, "rootfs"));
        Root = Path.Combine(Dir, "state");
    }

    public string Dir { get; }
    public string Rootfs { get; }
    public string Root { get; }

    public Result Oci(params string[] args) => Run(SandboxOci(), ["--root", Root, .. args]);

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// sandbox-oci driven with runc's command line, as conmon and the containerd shim call it: the lifecycle, the state
/// document against the runtime-spec schema, the caller contracts, and the bad-input cases.
/// </summary>
public sealed class RuntimeCommandTests(BundleFixture fx) : IClassFixture<BundleFixture>
{
    private static string NewId() => "t" + Guid.NewGuid().ToString("N")[..12];

    private static void AssertOneLine(Result r, string contains)
    {
        Assert.NotEqual(0, r.Code);
        var lines = r.Stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, "expected one error line, got: " + r.Stderr);
        Assert.Contains(contains, lines[0]);
    }

    private void AssertNoState(string id)
    {
        Assert.False(Directory.Exists(Path.Combine(fx.Root, "run", id)), $"state of {id} left behind");
        Assert.DoesNotContain(id, File.ReadAllText("/proc/self/mountinfo"));
        Assert.False(Directory.Exists($"/sys/fs/cgroup/memory/sandbox/{id}"), "cgroup left behind");
    }

    [Fact]
    public async Task CreateStartStateKillDelete()
    {
        var id = NewId();
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sleep", "60"]);
        var pidFile = Path.Combine(fx.Dir, id + ".pid");
        var create = fx.Oci("create", "--bundle", bundle, "--pid-file", pidFile, id);
        Assert.True(create.Code == 0, create.Stderr);
        int pid = int.Parse(File.ReadAllText(pidFile));
        Assert.True(Directory.Exists($"/proc/{pid}"));

        var state = JsonNode.Parse(fx.Oci("state", id).Stdout)!;
        Assert.Equal("created", (string?)state["status"]);
        Assert.Equal(pid, (int)state["pid"]!);
        Assert.Equal(bundle, (string?)state["bundle"]);
        await StateSchema.AssertValidAsync(state.ToJsonString());

        Assert.Equal(0, fx.Oci("start", id).Code);
        state = JsonNode.Parse(fx.Oci("state", id).Stdout)!;
        Assert.Equal("running", (string?)state["status"]);
        await StateSchema.AssertValidAsync(state.ToJsonString());

        var ps = fx.Oci("ps", "--format", "json", id);
        Assert.Equal(0, ps.Code);
        Assert.NotEmpty(JsonNode.Parse(ps.Stdout)!.AsArray());

        Assert.Equal(0, fx.Oci("pause", id).Code);
        Assert.Equal("paused", (string?)JsonNode.Parse(fx.Oci("state", id).Stdout)!["status"]);
        Assert.Equal(0, fx.Oci("resume", id).Code);

        AssertOneLine(fx.Oci("delete", id), "cannot delete container");
        Assert.Equal(0, fx.Oci("kill", id, "SIGTERM").Code);
        // The owner (the pid file's process) ends with the workload.
        for (int i = 0; i < 400 && Directory.Exists($"/proc/{pid}"); i++) await Task.Delay(25);
        Assert.False(Directory.Exists($"/proc/{pid}"), "the pid file's process outlived the workload");
        state = JsonNode.Parse(fx.Oci("state", id).Stdout)!;
        Assert.Equal("stopped", (string?)state["status"]);
        await StateSchema.AssertValidAsync(state.ToJsonString());
        Assert.Equal(0, fx.Oci("delete", id).Code);
        AssertOneLine(fx.Oci("state", id), "does not exist");
        AssertNoState(id);
    }

    [Fact]
    public void RunPassesTheExitCodeAndKillOfACreatedContainerEndsIt()
    {
        var id = NewId();
        var r = fx.Oci("run", "--bundle", MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sh", "-c", "echo out; exit 7"]), id);
        Assert.Equal(7, r.Code);
        Assert.Equal("out\n", r.Stdout);
        AssertNoState(id);

        var id2 = NewId();
        Assert.Equal(0, fx.Oci("create", "--bundle", MakeBundle(Path.Combine(fx.Dir, id2), fx.Rootfs, ["true"]), id2).Code);
        Assert.Equal(0, fx.Oci("kill", id2, "9").Code);
        Assert.Equal(0, fx.Oci("delete", "--force", id2).Code);
        AssertNoState(id2);
    }

    [Fact]
    public void ExecRunsInTheContainer()
    {
        var id = NewId();
        Assert.Equal(0, fx.Oci("run", "--detach", "--bundle", MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sleep", "60"]), id).Code);
        try
        {
            var e = fx.Oci("exec", id, "sh", "-c", "echo $$; hostname; exit 4");
            Assert.Equal(4, e.Code);
            Assert.NotEqual("1", e.Stdout.Split('\n')[0]);
            var process = Path.Combine(fx.Dir, id + "-process.json");
            File.WriteAllText(process, """{"args":["id","-u"],"env":["PATH=/bin"],"cwd":"/","user":{"uid":1000,"gid":1000}}""");
            var p = fx.Oci("exec", "--process", process, id);
            Assert.Equal(0, p.Code);
            Assert.Equal("1000\n", p.Stdout);
        }
        finally
        {
            Assert.Equal(0, fx.Oci("delete", "--force", id).Code);
        }
        AssertNoState(id);
    }

    [Fact]
    public void ConsoleSocketReceivesThePtyMaster()
    {
        var id = NewId();
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sh", "-c", "tty; sleep 1"], c => c["process"]!["terminal"] = true);
        var socketPath = Path.Combine(fx.Dir, id + ".sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        Assert.Equal(0, fx.Oci("create", "--bundle", bundle, "--console-socket", socketPath, id).Code);
        Assert.Equal(0, fx.Oci("start", id).Code);
        using var conn = listener.Accept();
        var received = Sandbox.Interop.Libc.Sockets.ReceiveFd(new Sandbox.Interop.Libc.SafeFd((int)conn.Handle, false));
        Assert.NotNull(received);
        using var master = received.Value.Fd;
        var buffer = new byte[256];
        int n = Sandbox.Interop.Libc.Files.Read(master, buffer);
        Assert.StartsWith("/dev/pts/0", System.Text.Encoding.UTF8.GetString(buffer, 0, n));
        Assert.Equal(0, fx.Oci("delete", "--force", id).Code);
        AssertNoState(id);
    }

    [Fact]
    public void BadInputIsOneLineAndLeavesNothing()
    {
        // A malformed config.json names the field.
        var id = NewId();
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["true"], c => c["process"]!["user"]!["uid"] = "root");
        AssertOneLine(fx.Oci("create", "--bundle", bundle, id), "process.user.uid");
        AssertNoState(id);

        // A missing rootfs.
        bundle = MakeBundle(Path.Combine(fx.Dir, id + "b"), fx.Rootfs, ["true"], c => c["root"]!["path"] = "/nonexistent-rootfs");
        AssertOneLine(fx.Oci("create", "--bundle", bundle, id), "/nonexistent-rootfs does not exist");
        AssertNoState(id);

        // An unsupported namespace path.
        bundle = MakeBundle(Path.Combine(fx.Dir, id + "c"), fx.Rootfs, ["true"], c =>
            c["linux"]!["namespaces"]!.AsArray().Add((JsonNode)new JsonObject { ["type"] = "user", ["path"] = "/proc/1/ns/user" }));
        AssertOneLine(fx.Oci("create", "--bundle", bundle, id), "joining a user namespace by path");
        AssertNoState(id);

        // An id already in use.
        bundle = MakeBundle(Path.Combine(fx.Dir, id + "d"), fx.Rootfs, ["sleep", "30"]);
        Assert.Equal(0, fx.Oci("create", "--bundle", bundle, id).Code);
        AssertOneLine(fx.Oci("create", "--bundle", bundle, id), "container with id exists");
        // delete of a running container without --force.
        Assert.Equal(0, fx.Oci("start", id).Code);
        AssertOneLine(fx.Oci("delete", id), "not stopped");
        Assert.Equal(0, fx.Oci("delete", "--force", id).Code);
        AssertNoState(id);

        // An unknown container: podman and containerd look for "does not exist".
        foreach (var command in new[] { "state", "start", "kill", "delete", "pause", "ps" })
            AssertOneLine(fx.Oci(command, "no-such-container"), "does not exist");
    }

    [Fact]
    public void JsonLogGetsTheErrorLine()
    {
        var log = Path.Combine(fx.Dir, "log-" + Guid.NewGuid().ToString("N") + ".json");
        var r = Run(SandboxOci(), ["--root", fx.Root, "--log", log, "--log-format", "json", "state", "no-such-container"]);
        Assert.NotEqual(0, r.Code);
        var line = JsonNode.Parse(File.ReadAllLines(log).Last())!;
        Assert.Equal("error", (string?)line["level"]);
        Assert.Contains("does not exist", (string?)line["msg"]);
    }

    [Fact]
    public void FeaturesVersionAndSpec()
    {
        var f = fx.Oci("features");
        Assert.Equal(0, f.Code);
        var doc = JsonNode.Parse(f.Stdout)!;
        // Debian's specs package (1.0.2) has no features schema: the fields runtime-spec 1.1's features.md requires.
        Assert.Equal("1.0.0", (string?)doc["ociVersionMin"]);
        Assert.Equal("1.1.0", (string?)doc["ociVersionMax"]);
        Assert.Contains("mount", doc["linux"]!["namespaces"]!.AsArray().Select(n => (string?)n));
        Assert.Contains("CAP_SYS_ADMIN", doc["linux"]!["capabilities"]!.AsArray().Select(n => (string?)n));
        Assert.True((bool)doc["linux"]!["seccomp"]!["enabled"]!);
        Assert.Contains("version", fx.Oci("--version").Stdout);
        var specDir = Directory.CreateTempSubdirectory("sandbox-oci-spec-").FullName;
        try
        {
            Assert.Equal(0, fx.Oci("spec", "--bundle", specDir).Code);
            Assert.Equal("sh", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(specDir, "config.json")))!["process"]!["args"]![0]);
        }
        finally { Directory.Delete(specDir, true); }
    }
}

/// <summary>The runtime-spec state schema Debian ships (golang-github-opencontainers-specs-dev).</summary>
internal static class StateSchema
{
    public const string Dir = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema";

    public static async Task AssertValidAsync(string json)
    {
        var path = Path.Combine(Dir, "state-schema.json");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: install golang-github-opencontainers-specs-dev (TEST_PACKAGES)");
        var schema = await NJsonSchema.JsonSchema.FromFileAsync(path);
        var errors = schema.Validate(json);
        Assert.True(errors.Count == 0, string.Join("; ", errors.Select(e => e.ToString())) + " in " + json);
    }
}
