using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Sandbox.Cli.Tests;

/// <summary>
/// The repository's <c>./sandbox</c> launcher decides from the command line whether to start libvirtd and build the
/// guest kernel (scripts/lib.sh, <c>launcher_scan</c>). It must read only the CLI's own options, as the CLI does.
/// </summary>
public class LauncherTests
{
    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sandbox.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repo root not found");
    }

    /// <summary>What the launcher would set up for <paramref name="args"/>: "", "vm", "info" or "bench".</summary>
    private static string Scan(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-c", "set -euo pipefail; source scripts/lib.sh; launcher_scan \"$@\"; printf %s \"$LAUNCHER_NEEDS\"", "_", .. args])
            psi.ArgumentList.Add(a);
        psi.WorkingDirectory = RepoRoot();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        return stdout;
    }

    [Theory]
    [InlineData("run", "busybox", "echo", "--vm")]
    [InlineData("run", "--rm", "busybox", "sh", "-c", "echo info; echo bench", "--vm")]
    [InlineData("run", "busybox", "info")]
    [InlineData("run", "busybox", "bench")]
    [InlineData("run", "-e", "--vm", "busybox")]          // --vm is the value of -e
    [InlineData("run", "--name", "--vm", "busybox")]
    [InlineData("run", "-h", "--vm", "busybox")]          // run's -h is --hostname and takes a value
    [InlineData("run", "-itw", "--vm", "busybox")]        // the group ends in -w: the next argument is its value
    [InlineData("run", "--", "--vm")]
    [InlineData("--root", "--vm", "run", "busybox")]
    [InlineData("--root", "info", "run", "busybox")]
    [InlineData("image", "import", "--vm")]
    [InlineData("images")]
    [InlineData("pool", "ls")]
    [InlineData("run", "busybox", "pool", "fill")]
    public void WorkloadArgumentsAndOptionValuesDoNotCount(params string[] args) => Assert.Equal("", Scan(args));

    [Theory]
    [InlineData("vm", "run", "--vm", "busybox", "true")]
    [InlineData("vm", "run", "--rm", "-it", "-e", "A=1", "--memory=64m", "--vm", "busybox")]
    [InlineData("vm", "run", "-itw/tmp", "-eA=1", "--vm", "busybox")]
    [InlineData("vm", "--root", "/tmp/r", "--debug", "run", "-m", "64m", "--vm", "busybox")]
    [InlineData("vm", "--libvirt-uri=qemu:///system", "create", "--vm", "busybox")]
    [InlineData("info", "info")]
    [InlineData("info", "-D", "info")]
    [InlineData("bench", "bench", "--runs", "3")]
    [InlineData("vm", "pool", "fill", "busybox", "--count", "2")]
    [InlineData("vm", "--root", "/tmp/r", "pool", "drain")]
    public void TheCliOwnOptionsCount(string expected, params string[] args) => Assert.Equal(expected, Scan(args));

    /// <summary>
    /// The launcher's up-to-date check (build_is_current) on a small copy of the repository's layout: current right
    /// after a build, stale after any change to a source, and indifferent to what the build writes into bin/ and obj/.
    /// </summary>
    [Theory]
    [InlineData("touch src/Sandbox.A/A.cs")]                                   // edited in place
    [InlineData("echo '// more' >> src/Sandbox.A/Deep/B.cs")]                  // edited in a subdirectory
    [InlineData("touch src/Sandbox.A/Deep/New.cs")]                             // added
    [InlineData("rm src/Sandbox.A/Deep/B.cs")]                                  // removed
    [InlineData("mv src/Sandbox.A/A.cs src/Sandbox.A/Renamed.cs")]              // renamed
    [InlineData("mkdir src/Sandbox.B")]                                         // a new project
    [InlineData("touch Directory.Build.props")]
    [InlineData("rm Directory.Build.props")]                                    // a top-level input removed
    [InlineData("rm out/bin/sandbox-init")]                                     // an output missing
    public void BuildCheckSeesEveryChangeToTheSources(string change)
    {
        using var repo = new FakeRepo();
        Assert.Equal("current", repo.Bash("build_is_current && echo current || echo stale"));
        Assert.Equal("stale", repo.Bash(change + "; build_is_current && echo current || echo stale"));
    }

    [Fact]
    public void BuildCheckIgnoresBuildOutputs()
    {
        using var repo = new FakeRepo();
        Assert.Equal("current", repo.Bash(
            "touch src/Sandbox.A/bin/x.dll src/Sandbox.A/obj/x.o out/bin/sandbox; build_is_current && echo current || echo stale"));
    }

    /// <summary>A temp directory with the repository's scripts/lib.sh, a source tree and a "built" out/bin.</summary>
    private sealed class FakeRepo : IDisposable
    {
        private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("sandbox-launcher-test-");

        public FakeRepo()
        {
            Directory.CreateDirectory(Path.Combine(_root.FullName, "scripts"));
            File.Copy(Path.Combine(RepoRoot(), "scripts", "lib.sh"), Path.Combine(_root.FullName, "scripts", "lib.sh"));
            // Every input is made an hour old first, so that "changed after the stamp" does not depend on the clock's grain.
            Bash("""
                mkdir -p src/Sandbox.A/Deep src/Sandbox.A/bin src/Sandbox.A/obj out/bin
                echo 'class A {}' > src/Sandbox.A/A.cs; echo 'class B {}' > src/Sandbox.A/Deep/B.cs
                echo '<Project/>' > Directory.Build.props
                printf '#!/bin/sh\n' > out/bin/sandbox; cp out/bin/sandbox out/bin/sandbox-init; chmod +x out/bin/sandbox*
                : > out/bin/sandbox-initramfs.cpio
                find . -exec touch -d '1 hour ago' {} +
                : > "$BUILD_STAMP"; record_build_inputs
                """);
        }

        /// <summary>Runs <paramref name="script"/> in the fake repository with lib.sh sourced; its trimmed stdout.</summary>
        public string Bash(string script)
        {
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _root.FullName };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("set -euo pipefail; source scripts/lib.sh\n" + script);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"bash failed: {stderr}");
            return stdout.Trim();
        }

        public void Dispose() => _root.Delete(recursive: true);
    }

    /// <summary>The launcher's lists of value-taking options are the CLI's: a new one must be added to both.</summary>
    [Fact]
    public void ValueTakingOptionListsMatchTheCli()
    {
        var lib = File.ReadAllText(Path.Combine(RepoRoot(), "scripts", "lib.sh"));
        Assert.Equal(Names(GlobalOptions.Specs), ShellList(lib, "LAUNCHER_GLOBAL_VALUE_OPTIONS"));
        Assert.Equal(Names(RunCommand.Specs), ShellList(lib, "LAUNCHER_RUN_VALUE_OPTIONS"));
    }

    private static string[] Names(IEnumerable<OptionSpec> specs) =>
        specs.Where(s => s.TakesValue).SelectMany(s => s.Names).Order(StringComparer.Ordinal).ToArray();

    private static string[] ShellList(string script, string variable)
    {
        var m = Regex.Match(script, "^" + variable + "=\"([^\"]*)\"", RegexOptions.Multiline);
        Assert.True(m.Success, $"{variable} not found in scripts/lib.sh");
        return m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray();
    }
}
