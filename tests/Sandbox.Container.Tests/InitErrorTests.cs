using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Sandbox.Images;
using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>
/// sandbox-init's failure paths, each triggered for real: the error is one line a user can act on (it names the path,
/// user or command) and never a .NET resource key. And the working directory resolves through the image's symlinks
/// inside the rootfs, as docker does, instead of failing.
/// </summary>
public sealed partial class InitErrorTests : IClassFixture<InitErrorTests.ImageFixture>
{
    private readonly ImageFixture _fx;

    public InitErrorTests(ImageFixture fx) => _fx = fx;

    /// <summary>One umoci-made image (AwkwardPathsImage) in one real store, for the class.</summary>
    public sealed class ImageFixture : IAsyncLifetime
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("sandbox-initerr-").FullName;
        public ContainerRuntime Runtime { get; private set; } = null!;
        public string Image => "awkward:latest";

        public async Task InitializeAsync()
        {
            File.SetUnixFileMode(Dir, (UnixFileMode)0x1ed);
            var paths = new SandboxPaths(Path.Combine(Dir, "root"));
            var store = new ImageStore(paths, NullLoggerFactory.Instance);
            await store.ImportAsync(AwkwardPathsImage.Build(Dir), Image);
            Runtime = new ContainerRuntime(paths, store, NullLoggerFactory.Instance, ContainerFixture.InitPath);
        }

        public Task DisposeAsync()
        {
            try { Directory.Delete(Dir, true); } catch (IOException) { }
            return Task.CompletedTask;
        }
    }

    [GeneratedRegex(@"\b[A-Z][A-Za-z]*_[A-Z][A-Za-z_]*\b")]
    private static partial Regex ResourceKey();

    private async Task<(int Code, string Stdout)> Run(SandboxSpec spec)
    {
        var stdout = new MemoryStream();
        await using var sandbox = await _fx.Runtime.StartAsync(spec with { Remove = true }, SandboxStdio.Streams(null, stdout, Stream.Null));
        var status = await sandbox.WaitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (status.Code ?? -1, Encoding.UTF8.GetString(stdout.ToArray()));
    }

    private async Task<SandboxException> Fails(SandboxSpec spec)
    {
        var e = await Assert.ThrowsAsync<SandboxException>(() => Run(spec));
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(ResourceKey().IsMatch(e.Message), "resource key in: " + e.Message);
        Assert.NotEqual(0, e.ExitCode);
        return e;
    }

    public static TheoryData<string, string> DanglingLinks()
    {
        var data = new TheoryData<string, string>();
        foreach (var (link, _, resolved) in AwkwardPathsImage.DanglingDirLinks) data.Add(link, resolved);
        return data;
    }

    [Theory]
    [MemberData(nameof(DanglingLinks))]
    public async Task Working_directory_through_a_dangling_symlink_is_created_inside_the_rootfs(string link, string resolved)
    {
        var (code, stdout) = await Run(new SandboxSpec { Image = _fx.Image, WorkingDir = link, Args = ["sh", "-c", "pwd; test -d " + resolved + " && echo made"] });
        Assert.Equal(0, code);
        Assert.Equal(resolved + "\nmade\n", stdout);
    }

    [Fact]
    public async Task Working_directory_through_a_symlink_to_an_existing_directory()
    {
        var (code, stdout) = await Run(new SandboxSpec { Image = _fx.Image, WorkingDir = AwkwardPathsImage.ExistingLink, Args = ["sh", "-c", "pwd; cat marker"] });
        Assert.Equal(0, code);
        Assert.Equal("/srv/existing\nhere\n", stdout);
    }

    [Fact]
    public async Task Working_directory_on_a_symlink_to_a_file()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, WorkingDir = AwkwardPathsImage.FileLink, Args = ["true"] });
        Assert.Equal(SandboxFailure.InvalidSpec, e.Reason);
        Assert.Equal("working directory /onfile (it resolves to /etc/passwd) exists in the image and is not a directory", e.Message);
    }

    [Fact]
    public async Task Working_directory_on_a_file()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, WorkingDir = "/etc/passwd", Args = ["true"] });
        Assert.Equal("working directory /etc/passwd exists in the image and is not a directory", e.Message);
    }

    [Fact]
    public async Task Working_directory_below_a_file()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, WorkingDir = "/etc/passwd/sub", Args = ["true"] });
        Assert.Equal("working directory /etc/passwd/sub: /etc/passwd in the image is a file, not a directory", e.Message);
    }

    [Fact]
    public async Task Working_directory_in_a_symlink_loop()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, WorkingDir = AwkwardPathsImage.LoopLink + "/x", Args = ["true"] });
        Assert.Equal("working directory /loop/x: too many symbolic links resolving /loop/x", e.Message);
    }

    [Fact]
    public async Task Unknown_user()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, User = "mallory", Args = ["true"] });
        Assert.Equal("unable to find user mallory: no matching entries in passwd file", e.Message);
    }

    [Fact]
    public async Task Unknown_group()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, User = "0:wheel", Args = ["true"] });
        Assert.Equal("unable to find group wheel: no matching entries in group file", e.Message);
    }

    [Fact]
    public async Task Passwd_entry_with_a_non_numeric_uid()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, User = AwkwardPathsImage.BrokenUser, Args = ["true"] });
        Assert.Equal("user broken: its id 'notanumber' in the image's /etc/passwd is not a number", e.Message);
    }

    [Fact]
    public async Task Volume_target_below_a_file()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, Volumes = [new VolumeMount(_fx.Dir, "/etc/passwd/vol", ReadOnly: true)], Args = ["true"] });
        Assert.Equal($"volume {_fx.Dir}:/etc/passwd/vol: /etc/passwd in the image is a file, not a directory", e.Message);
    }

    [Fact]
    public async Task Command_not_found()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, Args = ["no-such-command"] });
        Assert.Equal(127, e.ExitCode);
        Assert.Equal("exec: \"no-such-command\": executable file not found in $PATH", e.Message);
    }

    [Fact]
    public async Task Command_not_executable()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, Args = ["/etc/passwd"] });
        Assert.Equal(126, e.ExitCode);
        Assert.Equal("exec /etc/passwd: Permission denied", e.Message);
    }

    [Fact]
    public async Task Command_is_a_directory()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, Args = ["/srv"] });
        Assert.Equal(126, e.ExitCode);
        Assert.Equal("exec /srv: is a directory, not a program", e.Message);
    }
}
