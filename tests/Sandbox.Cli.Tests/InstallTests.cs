using System.Diagnostics;

namespace Sandbox.Cli.Tests;

/// <summary>
/// scripts/install.sh end to end, staged under a temp DESTDIR (so /usr/local is not touched): the installed binary,
/// run from another directory with none of the SANDBOX_* overrides, finds its init, initramfs and guest kernel and
/// runs a container and a micro-VM; --uninstall removes what was installed.
/// </summary>
public class InstallTests
{
    [Fact]
    public void InstalledBinaryRunsBothBackendsFromAnyDirectoryAndUninstalls()
    {
        var destdir = Directory.CreateTempSubdirectory("sandbox-install-test-");
        var state = Directory.CreateTempSubdirectory("sandbox-install-state-");
        try
        {
            var install = Path.Combine(LauncherTests.RepoRoot(), "scripts", "install.sh");
            var (code, _, stderr) = Run(install, destdir.FullName, "/", ["--prefix", "/usr/local"], TimeSpan.FromMinutes(30));
            Assert.True(code == 0, $"install.sh failed ({code}): {stderr}");

            var prefix = Path.Combine(destdir.FullName, "usr", "local");
            var cli = Path.Combine(prefix, "bin", "sandbox");
            var lib = Path.Combine(prefix, "lib", "sandbox");
            foreach (var (file, executable) in new[] { (cli, true), (Path.Combine(lib, "sandbox-init"), true),
                         (Path.Combine(lib, "sandbox-initramfs.cpio"), false), (Path.Combine(lib, "vmlinux"), false) })
            {
                Assert.True(File.Exists(file), $"{file} not installed");
                Assert.Equal(executable, File.GetUnixFileMode(file).HasFlag(UnixFileMode.UserExecute));
            }

            // From another directory, with nothing pointing at the build tree: the lookup alone must find the files.
            var elsewhere = Path.GetTempPath();
            (code, var stdout, stderr) = Run(cli, null, elsewhere, ["--root", state.FullName, "run", "--rm", "busybox", "echo", "from a container"], TimeSpan.FromMinutes(2));
            Assert.True(code == 0, $"container run failed ({code}): {stderr}");
            Assert.Equal("from a container\n", stdout);

            (code, stdout, stderr) = Run(cli, null, elsewhere, ["--root", state.FullName, "run", "--rm", "--vm", "busybox", "echo", "from a vm"], TimeSpan.FromMinutes(5));
            Assert.True(code == 0, $"vm run failed ({code}): {stderr}");
            Assert.Equal("from a vm\n", stdout);

            (code, _, stderr) = Run(install, destdir.FullName, "/", ["--prefix", "/usr/local", "--uninstall"], TimeSpan.FromMinutes(1));
            Assert.True(code == 0, $"install.sh --uninstall failed ({code}): {stderr}");
            Assert.False(File.Exists(cli), "the CLI is still installed");
            Assert.False(Directory.Exists(lib), $"{lib} is still there");
        }
        finally
        {
            destdir.Delete(recursive: true);
            state.Delete(recursive: true);
        }
    }

    /// <summary>Runs a program without the SANDBOX_* variables test.sh sets, optionally with DESTDIR.</summary>
    private static (int Code, string Stdout, string Stderr) Run(string file, string? destdir, string workingDirectory, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("SANDBOX_", StringComparison.Ordinal)).ToArray())
            psi.Environment.Remove(name);
        if (destdir is not null) psi.Environment["DESTDIR"] = destdir;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
