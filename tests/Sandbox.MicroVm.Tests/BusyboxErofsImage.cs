using Sandbox.Core;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// A real EROFS image made by mkfs.erofs from Debian's busybox-static (applet symlinks, /etc/passwd), served through
/// <see cref="IImageProvider"/> so these tests do not depend on the image store's branch. The CLI tests use the store.
/// </summary>
internal sealed class BusyboxErofsImage : IImageProvider, IDisposable
{
    private readonly string _dir;

    public BusyboxErofsImage(string parent)
    {
        _dir = Path.Combine(parent, "busybox-image");
        var rootfs = Path.Combine(_dir, "rootfs");
        foreach (var d in new[] { "bin", "etc", "tmp", "root", "proc", "sys", "dev" })
            Directory.CreateDirectory(Path.Combine(rootfs, d));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
        var (code, list, err) = TestEnvironment.Run("/bin/busybox", "--list");
        if (code != 0) throw new InvalidOperationException("busybox --list: " + err);
        foreach (var applet in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (applet != "busybox") File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "message"), "hello from the image\n");
        ImagePath = Path.Combine(_dir, "rootfs.erofs");
        var mk = TestEnvironment.Run("mkfs.erofs", "-q", ImagePath, rootfs);
        if (mk.Code != 0) throw new InvalidOperationException("mkfs.erofs: " + mk.Stderr);
    }

    public string ImagePath { get; }

    public Task<IImageLease> AcquireAsync(string reference, RootfsForm form, CancellationToken cancellationToken = default)
    {
        if (form != RootfsForm.ErofsImage) throw new NotSupportedException("this test image only comes as EROFS");
        if (reference != "busybox") throw new SandboxException(SandboxFailure.Image, $"no image '{reference}'");
        return Task.FromResult<IImageLease>(new Lease(ImagePath));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Lease(string path) : IImageLease
    {
        public string Digest => "sha256:test";
        public string Name => "busybox";
        public ImageConfig Config { get; } = new() { Cmd = ["sh"], Env = ["PATH=/bin"] };
        public string RootfsPath => path;
        public void Dispose() { }
    }
}
