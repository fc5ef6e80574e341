using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The same-output promise on an image made by a third-party tool: umoci builds two layers (the second deletes a file
/// and a directory — OCI whiteouts — and adds a file), with ENTRYPOINT, CMD, Env and WorkingDir in its config. The
/// image is imported through the CLI; its default command and reads of the layers give the same stdout and exit code
/// as a container and as a micro-VM.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class LayeredImageSameOutputTests(VmFixture vm) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sandbox-vm-umoci-").FullName;

    private static void Tool(string file, params string[] args)
    {
        var r = TestEnvironment.Run(file, args);
        if (r.Code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {r.Stderr}");
    }

    private string BuildAndImport(string name)
    {
        const string umoci = "/usr/bin/umoci";
        Assert.True(File.Exists(umoci), "umoci is not installed (test.sh installs it)");
        var layout = Path.Combine(_dir, "layout");
        Tool(umoci, "init", "--layout", layout);
        Tool(umoci, "new", "--image", layout + ":t");
        var b1 = Path.Combine(_dir, "b1");
        Tool(umoci, "unpack", "--image", layout + ":t", b1);
        var rootfs = Path.Combine(b1, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin/busybox"));
        foreach (var applet in new[] { "sh", "ls", "cat", "pwd", "echo", "grep", "true" })
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        Directory.CreateDirectory(Path.Combine(rootfs, "data"));
        File.WriteAllText(Path.Combine(rootfs, "data/keep"), "kept\n");
        File.WriteAllText(Path.Combine(rootfs, "data/gone"), "should be whited out\n");
        Directory.CreateDirectory(Path.Combine(rootfs, "olddir"));
        File.WriteAllText(Path.Combine(rootfs, "olddir/x"), "x\n");
        Tool(umoci, "repack", "--image", layout + ":t", b1);

        var b2 = Path.Combine(_dir, "b2");
        Tool(umoci, "unpack", "--image", layout + ":t", b2);
        File.Delete(Path.Combine(b2, "rootfs/data/gone"));
        Directory.Delete(Path.Combine(b2, "rootfs/olddir"), true);
        File.WriteAllText(Path.Combine(b2, "rootfs/data/added"), "from the second layer\n");
        Tool(umoci, "repack", "--image", layout + ":t", b2);
        Tool(umoci, "config", "--image", layout + ":t",
            "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
            "--config.cmd", "echo $GREETING; pwd; ls /data; ls / | grep -c olddir",
            "--config.env", "GREETING=hello-from-config", "--config.workingdir", "/work/here");
        Tool(TestEnvironment.CliPath, "--root", vm.Root, "image", "import", layout + ":t", "--name", name);
        return name;
    }

    private (int Code, string Stdout, string Stderr) Run(bool micro, string image, params string[] args) =>
        TestEnvironment.Run(TestEnvironment.CliPath,
            ["--root", vm.Root, "run", "--rm", .. (micro ? new[] { "--vm" } : []), image, .. args]);

    [Fact]
    public void Default_command_and_later_layers_agree()
    {
        var image = BuildAndImport("umoci-same:latest");

        // ENTRYPOINT + CMD, Env and WorkingDir from the config; the whiteouts hide /data/gone and /olddir.
        var container = Run(false, image);
        var micro = Run(true, image);
        Assert.Equal("hello-from-config\n/work/here\nadded\nkeep\n0\n", container.Stdout);
        Assert.Equal(container.Stdout, micro.Stdout);
        Assert.Equal(1, container.Code); // grep -c printing 0 exits 1
        Assert.Equal(container.Code, micro.Code);

        // A file from the later layer, read through the run's own command (entrypoint sh -c takes it).
        var c2 = Run(false, image, "cat /data/added; cat /data/gone");
        var m2 = Run(true, image, "cat /data/added; cat /data/gone");
        Assert.StartsWith("from the second layer\n", c2.Stdout);
        Assert.Equal(c2.Stdout, m2.Stdout);
        Assert.Equal(1, c2.Code);
        Assert.Equal(c2.Code, m2.Code);
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
