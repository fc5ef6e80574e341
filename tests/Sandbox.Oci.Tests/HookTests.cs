using System.Text.Json.Nodes;
using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// OCI hooks, runc as the oracle: a bundle whose six hook lists each hold a hook that appends its name, the status
/// its stdin's state document gives and whether that names a pid, its argv[0] and an env value to a log file (bound
/// into the container at the same path, as createContainer and startContainer run inside it); one hook at a time is
/// made to fail (or to outlive its timeout). The logs and exit codes of <c>run</c> must be equal.
/// </summary>
public sealed class HookTests(BundleFixture fx) : IClassFixture<BundleFixture>
{
    private static readonly string[] Phases = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

    public static TheoryData<string> Cases => ["none", .. Phases, "timeout"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameAsRunc(string failing)
    {
        var oracle = RunWith("runc", failing);
        var ours = RunWith(SandboxOci(), failing);
        Assert.True(oracle.Code == ours.Code, $"runc exit {oracle.Code}, sandbox-oci exit {ours.Code}: {ours.Stderr}");
        Assert.Equal(oracle.Log, ours.Log);
        // What each runtime prints when a hook fails names the hook's failure.
        if (failing != "none") Assert.Contains(failing == "timeout" ? "timeout" : "exit status 3", ours.Stderr);
        if (failing == "none")
            Assert.Equal(["prestart creating pid=yes a0=x foo=bar", "createRuntime creating pid=yes a0=x foo=bar",
                "createContainer creating pid=yes a0=x foo=bar", "poststart created pid=yes a0=x foo=bar",
                "startContainer created pid=yes a0=x foo=bar", "workload", "poststop stopped pid=no a0=x foo=bar"], ours.Log);
    }

    private (int Code, string Stderr, string[] Log) RunWith(string runtime, string failing)
    {
        var id = "h" + Guid.NewGuid().ToString("N")[..10];
        var logDir = Path.Combine(fx.Dir, "hooklog-" + id);
        Directory.CreateDirectory(logDir);
        var log = Path.Combine(logDir, "log");
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["sh", "-c", $"echo workload >> {log}"], c =>
        {
            c["mounts"]!.AsArray().Add((JsonNode)new JsonObject
            {
                ["destination"] = logDir, ["type"] = "bind", ["source"] = logDir, ["options"] = Strings("rbind", "rw"),
            });
            var hooks = new JsonObject();
            foreach (var phase in Phases)
            {
                // Only shell builtins: startContainer runs in the container, whose busybox has no sed.
                var script = "read -r s; st=unknown; for x in creating created running stopped; do case \"$s\" in *\"\\\"status\\\":\\\"$x\\\"\"*) st=$x;; esac; done; " +
                             "p=no; case \"$s\" in *'\"pid\":'*) p=yes;; esac; " +
                             $"echo \"{phase} $st pid=$p a0=$0 foo=$FOO\" >> {log}" +
                             (failing == phase ? "; exit 3" : failing == "timeout" && phase == "createRuntime" ? "; sleep 10" : "");
                var hook = new JsonObject { ["path"] = "/bin/sh", ["args"] = Strings("sh", "-c", script, "x"), ["env"] = Strings("FOO=bar") };
                if (failing == "timeout" && phase == "createRuntime") hook["timeout"] = 1;
                hooks[phase] = new JsonArray(hook);
            }
            c["hooks"] = hooks;
        });
        var root = Path.Combine(fx.Dir, runtime == "runc" ? "runc-root" : "state");
        var r = Run(runtime, ["--root", root, "run", "--bundle", bundle, id], timeoutMs: 60_000);
        // Nothing left: no container state (runc's list, our run directory).
        Assert.False(Directory.Exists(Path.Combine(root, id)) || Directory.Exists(Path.Combine(root, "run", id)), $"{runtime} left {id}");
        var lines = File.Exists(log) ? File.ReadAllLines(log) : [];
        return (r.Code, r.Stderr, Normalize(lines, failing));
    }

    /// <summary>
    /// runc runs poststart (in the runtime) while the container runs startContainer and then the workload, so their
    /// order is a race; and when poststart fails, whether startContainer and the workload ran before the kill is one.
    /// Likewise runc runs poststart after writing the start fifo whether or not startContainer then fails in the
    /// container; here poststart runs only once the workload runs. The rest of the order is the contract.
    /// </summary>
    private static string[] Normalize(string[] lines, string failing)
    {
        if (failing == "startContainer") lines = lines.Where(l => !l.StartsWith("poststart", StringComparison.Ordinal)).ToArray();
        string[] racy = ["startContainer", "poststart", "workload"];
        bool Racy(string l) => racy.Any(n => l.StartsWith(n, StringComparison.Ordinal));
        var middle = lines.Where(Racy).Where(l => failing != "poststart" || l.StartsWith("poststart", StringComparison.Ordinal)).OrderBy(l => Array.FindIndex(racy, n => l.StartsWith(n, StringComparison.Ordinal)) switch { 1 => 0, 0 => 1, _ => 2 });
        var before = lines.TakeWhile(l => !Racy(l) && !l.StartsWith("poststop", StringComparison.Ordinal));
        var after = lines.Where(l => l.StartsWith("poststop", StringComparison.Ordinal));
        return [.. before, .. middle, .. after];
    }
}
