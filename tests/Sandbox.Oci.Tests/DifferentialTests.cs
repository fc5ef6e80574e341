using System.Text.Json.Nodes;
using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// The same bundle run by runc (the oracle) and by sandbox-oci: stdout, stderr and the exit code must be equal.
/// </summary>
public sealed class DifferentialTests(BundleFixture fx) : IClassFixture<BundleFixture>
{
    public static TheoryData<string> Cases => [.. Table.Keys];

    private static readonly Dictionary<string, (string[] Args, Action<JsonObject>? Edit)> Table = new()
    {
        ["exit code"] = (["sh", "-c", "echo out; echo err >&2; exit 7"], null),
        ["user and groups"] = (["id"], c => c["process"]!["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000, ["additionalGids"] = new JsonArray(10, 20) }),
        ["env"] = (["env"], c => c["process"]!["env"] = Strings("PATH=/bin", "A=1", "B=two words")),
        ["cwd"] = (["pwd"], c => c["process"]!["cwd"] = "/tmp"),
        ["hostname"] = (["hostname"], c => c["hostname"] = "diffhost"),
        ["bind mount read-only"] = (["sh", "-c", "cat /mnt/data/f; touch /mnt/data/g 2>&1; echo $?"], c =>
            c["mounts"]!.AsArray().Add((JsonNode)new JsonObject
            {
                ["destination"] = "/mnt/data", ["type"] = "bind", ["source"] = "HOSTDATA", ["options"] = Strings("rbind", "ro"),
            })),
        ["tmpfs mount"] = (["sh", "-c", "grep ' /scratch ' /proc/mounts | cut -d' ' -f3,4"], c =>
            c["mounts"]!.AsArray().Add((JsonNode)new JsonObject
            {
                ["destination"] = "/scratch", ["type"] = "tmpfs", ["source"] = "tmpfs", ["options"] = Strings("nosuid", "nodev", "size=1m"),
            })),
        ["masked paths"] = (["sh", "-c", "cat /proc/kcore | wc -c; ls /proc/acpi | wc -l"], null),
        ["read-only paths"] = (["sh", "-c", "echo 1 > /proc/sys/kernel/hostname 2>&1; echo $?"], null),
        ["rlimits"] = (["sh", "-c", "ulimit -n; ulimit -Hn"], c => c["process"]!["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 777, ["hard"] = 888 })),
        ["capabilities"] = (["grep", "^Cap", "/proc/self/status"], c => c["process"]!["capabilities"] = new JsonObject
        {
            ["bounding"] = Strings("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"),
            ["effective"] = Strings("CAP_CHOWN", "CAP_KILL"),
            ["permitted"] = Strings("CAP_CHOWN", "CAP_KILL"),
            ["inheritable"] = Strings("CAP_KILL"),
            ["ambient"] = Strings("CAP_KILL"),
        }),
        ["no_new_privs"] = (["grep", "NoNewPrivs", "/proc/self/status"], null),
        ["seccomp profile"] = (["sh", "-c", "mkdir /tmp/x 2>&1; echo $?; echo ok"], c => c["linux"]!["seccomp"] = new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ALLOW",
            ["architectures"] = Strings("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["syscalls"] = new JsonArray(
                new JsonObject { ["names"] = Strings("mkdir", "mkdirat"), ["action"] = "SCMP_ACT_ERRNO", ["errnoRet"] = 13 }),
        }),
        ["read-only root"] = (["sh", "-c", "touch /x 2>&1; echo $?"], c => c["root"]!["readonly"] = true),
        ["sysctl"] = (["cat", "/proc/sys/net/ipv4/ip_forward"], c => c["linux"]!["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1" }),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameAsRunc(string name)
    {
        var (args, edit) = Table[name];
        var hostData = Path.Combine(fx.Dir, "hostdata");
        Directory.CreateDirectory(hostData);
        File.WriteAllText(Path.Combine(hostData, "f"), "from the host\n");
        var id = "d" + Guid.NewGuid().ToString("N")[..12];
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, args, c =>
        {
            edit?.Invoke(c);
            foreach (var m in c["mounts"]!.AsArray())
                if ((string?)m!["source"] == "HOSTDATA") m["source"] = hostData;
        });
        var runcRoot = Path.Combine(fx.Dir, "runc-root");
        var oracle = Run("runc", ["--root", runcRoot, "run", "--bundle", bundle, id + "r"]);
        var ours = fx.Oci("run", "--bundle", bundle, id);
        Assert.True(oracle.Stderr.Length == 0 || !oracle.Stderr.Contains("runc run failed"), "runc itself failed: " + oracle.Stderr);
        Assert.Equal(oracle.Stdout, ours.Stdout);
        Assert.Equal(oracle.Stderr, ours.Stderr);
        Assert.Equal(oracle.Code, ours.Code);
        Assert.False(Directory.Exists(Path.Combine(fx.Root, "run", id)), "state left behind");
    }
}
