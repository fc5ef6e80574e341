using Sandbox.Tests.Shared;
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

    private string BuildAndImport(string name)
    {
        var r = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "image", "import", UmociLayeredImage.Build(_dir), "--name", name);
        Assert.True(r.Code == 0, r.Stderr);
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
        Assert.Equal(UmociLayeredImage.DefaultOutput, container.Stdout);
        Assert.Equal(container.Stdout, micro.Stdout);
        Assert.Equal(UmociLayeredImage.DefaultExitCode, container.Code);
        Assert.Equal(container.Code, micro.Code);

        // A file from the later layer, read through the run's own command (entrypoint sh -c takes it).
        var c2 = Run(false, image, "cat /data/added; cat /data/gone");
        var m2 = Run(true, image, "cat /data/added; cat /data/gone");
        Assert.StartsWith("added\n", c2.Stdout);
        Assert.Equal(c2.Stdout, m2.Stdout);
        Assert.Equal(1, c2.Code);
        Assert.Equal(c2.Code, m2.Code);
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
