using Sandbox.Core;
using Sandbox.Images;
using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The working directory resolves through the image's symlinks inside the guest's root, as in a container (and as
/// docker does), and a path that cannot be a directory gets the same one line as in a container.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class WorkingDirectoryTests(VmFixture vm) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sandbox-vm-awkward-").FullName;

    private async Task<string> ImportAsync()
    {
        await ((ImageStore)vm.ImageProvider).ImportAsync(AwkwardPathsImage.Build(_dir), "awkward-vm:latest");
        return "awkward-vm:latest";
    }

    [Fact]
    public async Task Symlinked_working_directory_is_resolved_inside_the_guest_root()
    {
        var image = await ImportAsync();
        var r = await vm.RunAsync(new SandboxSpec { Image = image, WorkingDir = "/work", Args = ["sh", "-c", "pwd; test -d /srv/work && echo made"] });
        Assert.Equal(0, r.Status.Code);
        Assert.Equal("/srv/work\nmade\n", r.Stdout);

        var e = await Assert.ThrowsAsync<SandboxException>(() =>
            vm.RunAsync(new SandboxSpec { Image = image, WorkingDir = AwkwardPathsImage.FileLink, Args = ["true"] }));
        Assert.Equal("working directory /onfile (it resolves to /etc/passwd) exists in the image and is not a directory", e.Message);
        Assert.Equal(125, e.ExitCode);
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
