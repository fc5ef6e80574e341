using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// <c>update</c> on a running container, runc as the oracle: the same <c>--resources</c> document (from a file and
/// from stdin) and the same flags, then the container's cgroup files read back must be equal. Each container has its
/// own <c>linux.cgroupsPath</c>, so the files are found the same way for both runtimes (this host is cgroup v1).
/// </summary>
public sealed class UpdateTests(BundleFixture fx) : IClassFixture<BundleFixture>
{
    private const string Resources = """
        {"memory":{"limit":67108864,"reservation":33554432,"swap":134217728},
         "cpu":{"shares":512,"quota":50000,"period":200000,"cpus":"0","mems":"0"},
         "pids":{"limit":42}}
        """;

    private static readonly string[] Files =
    [
        "memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes", "memory/memory.memsw.limit_in_bytes",
        "cpu/cpu.shares", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "pids/pids.max", "cpuset/cpuset.cpus", "cpuset/cpuset.mems",
    ];

    [Theory]
    [InlineData("file")]
    [InlineData("stdin")]
    public void ResourcesMatchRunc(string source)
    {
        var oracle = UpdateAndRead("runc", source == "file" ? ["update", "--resources", ResourcesFile()] : ["update", "--resources", "-"], Resources, Files);
        var ours = UpdateAndRead(SandboxOci(), source == "file" ? ["update", "--resources", ResourcesFile()] : ["update", "-r", "-"], Resources, Files);
        Assert.Equal(oracle, ours);
        Assert.Equal("67108864", oracle["memory/memory.limit_in_bytes"]);
        Assert.Equal("42", oracle["pids/pids.max"]);
    }

    [Fact]
    public void FlagsMatchRunc()
    {
        string[] flags = ["update", "--memory", "96m", "--pids-limit", "17", "--cpu-quota", "30000", "--cpu-share", "256", "--memory-reservation", "8388608"];
        string[] files = ["memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes", "pids/pids.max", "cpu/cpu.cfs_quota_us", "cpu/cpu.shares"];
        var oracle = UpdateAndRead("runc", flags, null, files);
        var ours = UpdateAndRead(SandboxOci(), flags, null, files);
        Assert.Equal(oracle, ours);
        Assert.Equal((96 << 20).ToString(), ours["memory/memory.limit_in_bytes"]);
    }

    /// <summary>runc applies an update of a created container (its cgroup exists from create); here the limits go into
    /// the record and the cgroup is made with them at start. The files read back after start must match runc's.</summary>
    [Fact]
    public void UpdateOfACreatedContainerAppliesAtStartAsRunc()
    {
        string[] flags = ["update", "--memory", "80m", "--pids-limit", "23", "--cpu-quota", "40000"];
        string[] files = ["memory/memory.limit_in_bytes", "pids/pids.max", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us"];
        var oracle = UpdateAndRead("runc", flags, null, files, beforeStart: true);
        var ours = UpdateAndRead(SandboxOci(), flags, null, files, beforeStart: true);
        Assert.Equal(oracle, ours);
        Assert.Equal((80 << 20).ToString(), ours["memory/memory.limit_in_bytes"]);
        Assert.Equal("23", ours["pids/pids.max"]);
    }

    /// <summary>What a created container's limits cannot carry is one line naming it, and the record is unchanged.</summary>
    [Fact]
    public void UpdateOfACreatedContainerRefusesWhatItCannotCarry()
    {
        var id = "u" + Guid.NewGuid().ToString("N")[..10];
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sleep", "60"]);
        Assert.Equal(0, fx.Oci("create", "--bundle", bundle, id).Code);
        try
        {
            var r = fx.Oci("update", "--cpu-share", "512", id);
            Assert.NotEqual(0, r.Code);
            Assert.Contains("cpu shares", r.Stderr);
            Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
            Assert.Equal("created", (string?)System.Text.Json.Nodes.JsonNode.Parse(fx.Oci("state", id).Stdout)!["status"]);
        }
        finally
        {
            Assert.Equal(0, fx.Oci("delete", "--force", id).Code);
        }
    }

    [Fact]
    public void UnsupportedFieldIsAnErrorNamingIt()
    {
        var id = "u" + Guid.NewGuid().ToString("N")[..10];
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sleep", "60"]);
        Assert.Equal(0, fx.Oci("run", "--detach", "--bundle", bundle, id).Code);
        try
        {
            var r = Run(SandboxOci(), ["--root", fx.Root, "update", "-r", "-", id], stdin: """{"blockIO":{"weight":300}}""");
            Assert.NotEqual(0, r.Code);
            Assert.Contains("blockIO", r.Stderr);
            Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
            var missing = fx.Oci("update", "-r", "-", "no-such-container");
            Assert.Contains("does not exist", missing.Stderr);
        }
        finally
        {
            Assert.Equal(0, fx.Oci("delete", "--force", id).Code);
        }
    }

    private string ResourcesFile()
    {
        var path = Path.Combine(fx.Dir, "resources-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, Resources);
        return path;
    }

    /// <summary>Runs a sleeping container with <paramref name="runtime"/>, updates it, reads the files back, deletes it.</summary>
    private Dictionary<string, string> UpdateAndRead(string runtime, string[] update, string? stdin, string[] files, bool beforeStart = false)
    {
        var id = "u" + Guid.NewGuid().ToString("N")[..10];
        var cgroupsPath = "/sandbox-oci-test/" + id;
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sleep", "60"], c => c["linux"]!["cgroupsPath"] = cgroupsPath);
        var root = Path.Combine(fx.Dir, runtime == "runc" ? "runc-root" : "state");
        Result R(string[] args, string? input = null) => Run(runtime, ["--root", root, .. args], stdin: input);
        var create = R(["create", "--bundle", bundle, id]);
        Assert.True(create.Code == 0, $"{runtime} create: {create.Stderr}");
        try
        {
            if (!beforeStart) Assert.Equal(0, R(["start", id]).Code);
            var u = R([.. update, id], stdin);
            Assert.True(u.Code == 0, $"{runtime} update: {u.Stderr}");
            if (beforeStart) Assert.Equal(0, R(["start", id]).Code);
            return files.ToDictionary(f => f, f =>
            {
                var (controller, file) = (f.Split('/')[0], f.Split('/')[1]);
                return File.ReadAllText(Path.Combine("/sys/fs/cgroup", controller, cgroupsPath.TrimStart('/'), file)).Trim();
            });
        }
        finally
        {
            var delete = R(["delete", "--force", id]);
            Assert.True(delete.Code == 0, $"{runtime} delete: {delete.Stderr}");
            foreach (var controller in new[] { "memory", "cpu", "pids", "cpuset" })
                Assert.False(Directory.Exists(Path.Combine("/sys/fs/cgroup", controller, cgroupsPath.TrimStart('/'))), $"{runtime} left its {controller} cgroup");
            foreach (var dir in Directory.GetDirectories("/sys/fs/cgroup", "sandbox-oci-test", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1 }))
                try { Directory.Delete(dir); } catch (IOException) { /* another runtime's container still uses it */ }
        }
    }
}
