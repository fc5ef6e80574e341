using System.Security.Cryptography;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>
/// Crafted layers that try to write outside the rootfs. Each must fail with a clear error or land inside the
/// rootfs; either way nothing outside the store may change. The sentinel directory "outside" holds a file and a
/// directory the layers aim at through absolute paths, relative paths, symlinks and hardlinks.
/// </summary>
public sealed class HostileArchiveTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _outside;
    private readonly string _secret;

    public HostileArchiveTests()
    {
        _outside = _dir.Sub("outside");
        Directory.CreateDirectory(Path.Combine(_outside, "victim-dir"));
        _secret = Path.Combine(_outside, "secret");
        File.WriteAllText(_secret, "do not touch\n");
        File.WriteAllText(Path.Combine(_outside, "victim-dir", "file"), "also not\n");
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Everything in the temp dir outside the store: must be identical before and after.</summary>
    private SortedDictionary<string, string> OutsideTheStore() =>
        TreeSnapshot.Take(_dir.Path, exclude: p => p == "store" || p.StartsWith("store/", StringComparison.Ordinal) || p.StartsWith("input", StringComparison.Ordinal), withTimes: true);

    /// <summary>Imports layers as an OCI layout; returns the rootfs path, or the error when refused.</summary>
    private async Task<(string? Rootfs, SandboxException? Error)> Import(params byte[][] layers)
    {
        var before = OutsideTheStore();
        var hostPasswd = SHA256.HashData(File.ReadAllBytes("/etc/passwd"));
        var layout = LayoutBuilder.Write(Path.Combine(_dir.Path, "input-" + Guid.NewGuid().ToString("N")), layers);
        var store = _dir.NewStore();
        string? rootfs = null;
        SandboxException? error = null;
        try
        {
            var image = await store.ImportAsync(layout, "hostile:test");
            using var lease = await store.AcquireAsync(image.Digest, RootfsForm.Directory);
            rootfs = lease.RootfsPath;
        }
        catch (SandboxException e)
        {
            error = e;
            Assert.Equal(SandboxFailure.Image, e.Reason);
            Assert.DoesNotContain('\n', e.Message);
            // A refused import leaves the store as it was: no index entry, no blobs, no work directories.
            var state = StoreState.Of(_dir.ImagesDir);
            Assert.Equal("", state.Temp);
            Assert.DoesNotContain("hostile", state.Index);
        }
        var after = OutsideTheStore();
        Assert.True(before.SequenceEqual(after), "changed outside the store:\n" + TreeSnapshot.Diff(before, after));
        Assert.Equal(hostPasswd, SHA256.HashData(File.ReadAllBytes("/etc/passwd")));
        Assert.Equal("do not touch\n", File.ReadAllText(_secret));
        Assert.Equal(1u, Interop.Libc.Statx.GetNoFollow(_secret).Nlink);
        return (rootfs, error);
    }

    [Fact]
    public async Task DotDot_entry_is_refused()
    {
        var (_, error) = await Import(new TarBuilder().File("../../../outside/pwned", "x").ToArray());
        Assert.NotNull(error);
        Assert.Contains("'..'", error!.Message);
        Assert.False(File.Exists(Path.Combine(_outside, "pwned")));
    }

    /// <summary>Regressions (LayerFuzzTests, seed 07TEQPn-gEw1): a NUL byte in an entry's name or a symlink's target
    /// reached the first syscall as an ArgumentException instead of a clear refusal.</summary>
    [Fact]
    public async Task A_NUL_byte_in_a_name_or_a_link_target_is_refused()
    {
        var (_, error) = await Import(new TarBuilder().File("etc/pass\0wd", "x").ToArray());
        Assert.NotNull(error);
        Assert.Contains("has a NUL byte in its name", error!.Message);
        (_, error) = await Import(new TarBuilder().Symlink("link", "/etc/pass\0wd").ToArray());
        Assert.NotNull(error);
        Assert.Contains("has a NUL byte in its target", error!.Message);
    }

    [Fact]
    public async Task Absolute_entry_is_contained()
    {
        var (rootfs, error) = await Import(new TarBuilder().File(_outside + "/pwned", "x").ToArray());
        Assert.Null(error);
        Assert.True(File.Exists(Path.Combine(rootfs!, _outside.TrimStart('/'), "pwned")));
        Assert.False(File.Exists(Path.Combine(_outside, "pwned")));
    }

    [Fact]
    public async Task Write_through_absolute_symlink_in_same_layer_does_not_escape()
    {
        // evil resolves (inside the rootfs) to <rootfs>/<outside>, which the image does not have: the unpacker
        // refuses to create a directory over the symlink rather than writing anywhere.
        var (_, error) = await Import(new TarBuilder().Symlink("evil", _outside).File("evil/pwned", "x").ToArray());
        Assert.NotNull(error);
        Assert.Contains("'evil' is a dangling symlink, cannot put entries below it", error!.Message);
        Assert.False(File.Exists(Path.Combine(_outside, "pwned")));
    }

    [Fact]
    public async Task Write_through_relative_symlink_lands_inside()
    {
        // evil -> ../../../../.. resolves to the rootfs itself, so evil/<outside>/pwned is the rootfs's copy of that
        // path. (Aimed at the sentinel, never at host files: a regression must not damage the machine running tests.)
        var inside = _outside.TrimStart('/');
        var (rootfs, error) = await Import(new TarBuilder().Dir(inside + "/").Symlink("evil", "../../../../../../..")
            .File("evil/" + inside + "/pwned", "x").ToArray());
        Assert.Null(error);
        Assert.Equal("x", File.ReadAllText(Path.Combine(rootfs!, inside, "pwned")));
    }

    [Fact]
    public async Task Absolute_symlink_to_an_existing_path_then_write_stays_in_rootfs()
    {
        // The same path exists in the rootfs and on the host: the write must land in the rootfs's copy.
        var inside = _outside.TrimStart('/');
        var (rootfs, error) = await Import(new TarBuilder().Dir(inside + "/").Symlink("hostdir", _outside).File("hostdir/secret", "owned\n").ToArray());
        Assert.Null(error);
        Assert.Equal("owned\n", File.ReadAllText(Path.Combine(rootfs!, inside, "secret")));
    }

    [Fact]
    public async Task Overwriting_a_symlink_replaces_the_link_not_its_target()
    {
        var (rootfs, error) = await Import(new TarBuilder().Symlink("link", _secret).File("link", "replaced").ToArray());
        Assert.Null(error);
        Assert.Equal("replaced", File.ReadAllText(Path.Combine(rootfs!, "link")));
    }

    [Fact]
    public async Task Write_through_symlink_made_in_an_earlier_layer_does_not_escape()
    {
        var (_, error) = await Import(
            new TarBuilder().Symlink("evil", _outside + "/victim-dir").ToArray(),
            new TarBuilder().File("evil/file", "overwritten").File("evil/new", "x").ToArray());
        Assert.NotNull(error);
        Assert.Contains("'evil' is a dangling symlink, cannot put entries below it", error!.Message);
        Assert.False(File.Exists(Path.Combine(_outside, "victim-dir", "new")));
    }

    [Fact]
    public async Task Symlinked_parent_directory_from_earlier_layer_is_contained()
    {
        var inside = _outside.TrimStart('/') + "/victim-dir";
        var (rootfs, error) = await Import(
            new TarBuilder().Dir(inside + "/").Symlink("parent", _outside + "/victim-dir").ToArray(),
            new TarBuilder().Dir("parent/sub/").File("parent/sub/f", "inside").ToArray());
        Assert.Null(error);
        Assert.Equal("inside", File.ReadAllText(Path.Combine(rootfs!, inside, "sub/f")));
    }

    [Fact]
    public async Task Hardlink_to_outside_absolute_path_fails()
    {
        var (_, error) = await Import(new TarBuilder().Hardlink("stolen", _secret).ToArray());
        Assert.NotNull(error);
        Assert.Contains("stolen", error!.Message);
    }

    [Fact]
    public async Task Hardlink_with_dotdot_is_refused()
    {
        var (_, error) = await Import(new TarBuilder().Hardlink("stolen", "../../../../../../.." + _secret).ToArray());
        Assert.NotNull(error);
        Assert.Contains("'..'", error!.Message);
    }

    [Fact]
    public async Task Hardlink_to_symlink_pointing_outside_links_the_symlink_itself()
    {
        var (rootfs, error) = await Import(
            new TarBuilder().Symlink("sl", _secret).Hardlink("hl", "sl").ToArray(),
            new TarBuilder().File("hl", "written").ToArray());
        Assert.Null(error);
        Assert.Equal("written", File.ReadAllText(Path.Combine(rootfs!, "hl")));
        Assert.Equal(_secret, new FileInfo(Path.Combine(rootfs!, "sl")).LinkTarget);
    }

    [Fact]
    public async Task Hardlink_through_symlinked_directory_stays_inside()
    {
        var (_, error) = await Import(new TarBuilder().Symlink("d", _outside).Hardlink("stolen", "d/secret").ToArray());
        // d/secret resolves to <rootfs>/<outside>/secret, whose directory the image does not have.
        Assert.NotNull(error);
        Assert.Contains("hardlink 'stolen'", error!.Message);
        Assert.Contains("the target's directory is not in the image", error.Message);
    }

    [Fact]
    public async Task Whiteout_with_dotdot_is_refused()
    {
        var (_, error) = await Import(
            new TarBuilder().Dir("a/").File("a/f", "x").ToArray(),
            new TarBuilder().File("a/.wh...", "").ToArray());
        Assert.NotNull(error);
        Assert.Contains("whiteout 'a/.wh...' names no valid entry", error!.Message);
    }

    [Fact]
    public async Task Whiteout_climbing_out_is_refused()
    {
        var (_, error) = await Import(new TarBuilder().File("a/../../outside/.wh.secret", "").ToArray());
        Assert.NotNull(error);
        Assert.Contains("'..'", error!.Message);
    }

    [Fact]
    public async Task Whiteout_and_opaque_through_symlink_do_not_delete_outside()
    {
        var (_, error) = await Import(
            new TarBuilder().Symlink("evil", _outside).Symlink("evil2", _outside + "/victim-dir").ToArray(),
            new TarBuilder().File("evil/.wh.secret", "").File("evil2/.wh..wh..opq", "").ToArray());
        Assert.Null(error);
        Assert.True(File.Exists(Path.Combine(_outside, "victim-dir", "file")));
    }
}
