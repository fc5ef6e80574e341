using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Sandbox.Images;
using Sandbox.Tests.Shared;
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

    private async Task<string> BuildImageAsync()
    {
        await _store.ImportAsync(UmociLayeredImage.Build(_dir), "umoci-test:latest");
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
            Assert.Equal(UmociLayeredImage.DefaultExitCode, status.Code);
        }
        Assert.Equal(UmociLayeredImage.DefaultOutput, Encoding.UTF8.GetString(stdout.ToArray()));

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
