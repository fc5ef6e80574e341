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

    /// <summary>Working directory, user and command failures: (workdir, user, command, exit code or null, the one line).</summary>
    public static TheoryData<string?, string?, string, int?, string> Failures() => new()
    {
        { AwkwardPathsImage.FileLink, null, "true", null, "working directory /onfile (it resolves to /etc/passwd) exists in the image and is not a directory" },
        { "/etc/passwd", null, "true", null, "working directory /etc/passwd exists in the image and is not a directory" },
        { "/etc/passwd/sub", null, "true", null, "working directory /etc/passwd/sub: /etc/passwd in the image is a file, not a directory" },
        { AwkwardPathsImage.LoopLink + "/x", null, "true", null, "working directory /loop/x: too many symbolic links resolving /loop/x" },
        { null, "mallory", "true", null, "unable to find user mallory: no matching entries in passwd file" },
        { null, "0:wheel", "true", null, "unable to find group wheel: no matching entries in group file" },
        { null, AwkwardPathsImage.BrokenUser, "true", null, "user broken: its id 'notanumber' in the image's /etc/passwd is not a number" },
        { null, null, "no-such-command", 127, "exec: \"no-such-command\": executable file not found in $PATH" },
        { null, null, "/etc/passwd", 126, "exec /etc/passwd: Permission denied" },
        { null, null, "/srv", 126, "exec /srv: is a directory, not a program" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failure_is_one_line_naming_what_to_fix(string? workdir, string? user, string command, int? exitCode, string message)
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, WorkingDir = workdir, User = user, Args = [command] });
        Assert.Equal(message, e.Message);
        if (exitCode is int code) Assert.Equal(code, e.ExitCode);
        if (workdir is not null) Assert.Equal(SandboxFailure.InvalidSpec, e.Reason);
    }

    [Fact]
    public async Task Volume_target_below_a_file()
    {
        var e = await Fails(new SandboxSpec { Image = _fx.Image, Volumes = [new VolumeMount(_fx.Dir, "/etc/passwd/vol", ReadOnly: true)], Args = ["true"] });
        Assert.Equal($"volume {_fx.Dir}:/etc/passwd/vol: /etc/passwd in the image is a file, not a directory", e.Message);
    }
}
