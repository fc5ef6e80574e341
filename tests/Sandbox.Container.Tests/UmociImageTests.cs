using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Sandbox.Images;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>
/// An image made by umoci (two layers, the second deleting a file and a directory: OCI whiteouts), imported into the
/// real image store and run: the right files at run time, and ENTRYPOINT/CMD/Env/WorkingDir honoured.
/// </summary>
public sealed class UmociImageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sandbox-umoci-").FullName;
    private readonly SandboxPaths _paths;
    private readonly ImageStore _store;
    private readonly ContainerRuntime _runtime;

    public UmociImageTests()
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1ed);
        _paths = new SandboxPaths(Path.Combine(_dir, "root"));
        _store = new ImageStore(_paths, NullLoggerFactory.Instance);
        _runtime = new ContainerRuntime(_paths, _store, NullLoggerFactory.Instance, ContainerFixture.InitPath);
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {err}");
    }

    private async Task<string> BuildImageAsync()
    {
        var umoci = "/usr/bin/umoci";
        Assert.True(File.Exists(umoci), "umoci is not installed (test.sh installs it)");
        var layout = Path.Combine(_dir, "layout");
        Run(umoci, "init", "--layout", layout);
        Run(umoci, "new", "--image", layout + ":t");
        var b1 = Path.Combine(_dir, "b1");
        Run(umoci, "unpack", "--image", layout + ":t", b1);
        var rootfs = Path.Combine(b1, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin/busybox"));
        foreach (var applet in new[] { "sh", "ls", "cat", "pwd", "echo" })
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        Directory.CreateDirectory(Path.Combine(rootfs, "data"));
        File.WriteAllText(Path.Combine(rootfs, "data/keep"), "kept\n");
        File.WriteAllText(Path.Combine(rootfs, "data/gone"), "should be whited out\n");
        Directory.CreateDirectory(Path.Combine(rootfs, "olddir"));
        File.WriteAllText(Path.Combine(rootfs, "olddir/x"), "x\n");
        Run(umoci, "repack", "--image", layout + ":t", b1);

        var b2 = Path.Combine(_dir, "b2");
        Run(umoci, "unpack", "--image", layout + ":t", b2);
        File.Delete(Path.Combine(b2, "rootfs/data/gone"));
        Directory.Delete(Path.Combine(b2, "rootfs/olddir"), true);
        File.WriteAllText(Path.Combine(b2, "rootfs/data/added"), "added\n");
        Run(umoci, "repack", "--image", layout + ":t", b2);
        Run(umoci, "config", "--image", layout + ":t",
            "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
            "--config.cmd", "echo $GREETING; pwd; ls /data; ls / | grep -c olddir",
            "--config.env", "GREETING=hello-from-config", "--config.workingdir", "/work/here");
        await _store.ImportAsync(layout, "umoci-test:latest");
        return "umoci-test:latest";
    }

    [Fact]
    public async Task WhiteoutsAndImageConfigHoldAtRunTime()
    {
        var image = await BuildImageAsync();
        var stdout = new MemoryStream();
        await using (var sandbox = await _runtime.StartAsync(new SandboxSpec { Image = image, Remove = true }, SandboxStdio.Streams(null, stdout, Stream.Null)))
        {
            var status = await sandbox.WaitAsync();
            Assert.Equal(1, status.Code); // grep -c found no olddir: exit 1
        }
        Assert.Equal("hello-from-config\n/work/here\nadded\nkeep\n0\n", Encoding.UTF8.GetString(stdout.ToArray()));

        // Run arguments replace CMD but keep the ENTRYPOINT (docker's rule).
        stdout.SetLength(0);
        await using (var sandbox = await _runtime.StartAsync(new SandboxSpec { Image = image, Args = ["cat /data/keep"], Remove = true }, SandboxStdio.Streams(null, stdout, Stream.Null)))
            Assert.Equal(0, (await sandbox.WaitAsync()).Code);
        Assert.Equal("kept\n", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
