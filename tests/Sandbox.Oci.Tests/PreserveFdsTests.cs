using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// <c>run --preserve-fds N</c>, runc as the oracle: a shell opens two files as fds 3 and 4 and execs the runtime;
/// the workload reads what it was given, shows which fds it has and that no LISTEN_FDS was added (runc adds none).
/// </summary>
public sealed class PreserveFdsTests(BundleFixture fx) : IClassFixture<BundleFixture>
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void SameAsRunc(int preserve)
    {
        var oracle = RunWith("runc", preserve);
        var ours = RunWith(SandboxOci(), preserve);
        Assert.True(oracle.Code == ours.Code, $"runc exit {oracle.Code}, sandbox-oci exit {ours.Code}: {ours.Stderr}");
        Assert.Equal(oracle.Stdout, ours.Stdout);
        if (preserve == 2) Assert.Contains("first\nsecond\n", ours.Stdout);
    }

    [Fact]
    public void AClosedFdIsAnError()
    {
        var id = "f" + Guid.NewGuid().ToString("N")[..10];
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs, ["true"]);
        var r = Run("sh", ["-c", "exec 3<&- 4<&- 5<&- 6<&- 7<&- 8<&- 9<&-; exec \"$0\" --root \"$1\" run --preserve-fds 7 --bundle \"$2\" \"$3\"", SandboxOci(), fx.Root, bundle, id]);
        Assert.NotEqual(0, r.Code);
        Assert.Contains("--preserve-fds 7: fd", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(fx.Root, "run", id)));
    }

    private Result RunWith(string runtime, int preserve)
    {
        var id = "f" + Guid.NewGuid().ToString("N")[..10];
        var (a, b) = (Path.Combine(fx.Dir, id + ".a"), Path.Combine(fx.Dir, id + ".b"));
        File.WriteAllText(a, "first\n");
        File.WriteAllText(b, "second\n");
        var bundle = MakeBundle(Path.Combine(fx.Dir, id), fx.Rootfs,
            ["sh", "-c", "cat <&3 2>/dev/null || echo no-3; cat <&4 2>/dev/null || echo no-4; ls /proc/self/fd | wc -l; echo listen=${LISTEN_FDS:-none}"]);
        var root = Path.Combine(fx.Dir, runtime == "runc" ? "runc-root" : "state");
        return Run("sh", ["-c", "exec 3<\"$4\" 4<\"$5\"; exec \"$0\" --root \"$1\" run --preserve-fds \"$6\" --bundle \"$2\" \"$3\"",
            runtime, root, bundle, id, a, b, preserve.ToString()]);
    }
}
