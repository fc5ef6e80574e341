namespace Sandbox.Images.Tests.Erofs;

/// <summary>
/// An EROFS image mounted read-only by the host kernel through a loop device (mount -o loop sets autoclear, so the
/// loop device goes with the unmount). The test's strongest witness: the real kernel reads what we wrote.
/// </summary>
internal sealed class ErofsMount : IDisposable
{
    private readonly TempDirectory _mountPoint = new("mnt");
    private bool _mounted;

    public ErofsMount(string image)
    {
        if (!Environment.IsPrivilegedProcess)
            throw new InvalidOperationException("this test needs root: it mounts the image with the host kernel (mount -o loop)");
        var (code, stdout, stderr) = Tool.Run("mount", "-t", "erofs", "-o", "loop,ro", image, _mountPoint.Path);
        if (code != 0)
        {
            _mountPoint.Dispose();
            var dmesg = Tool.Run("dmesg");
            string tail = string.Join('\n', dmesg.Stdout.Split('\n').TakeLast(5));
            throw new InvalidOperationException($"mount -t erofs {image} failed ({code}): {stderr}{stdout}\nkernel: {tail}");
        }
        _mounted = true;
    }

    public string Path => _mountPoint.Path;

    public void Dispose()
    {
        if (!_mounted) return;
        _mounted = false;
        var (code, _, stderr) = Tool.Run("umount", _mountPoint.Path);
        if (code != 0) Tool.Run("umount", "-l", _mountPoint.Path);
        _mountPoint.Dispose();
        if (code != 0) throw new InvalidOperationException($"umount {_mountPoint.Path}: {stderr}");
    }
}
