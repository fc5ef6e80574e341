using System.Globalization;

namespace Sandbox.MicroVm.Pool;

/// <summary>
/// What a warm pool member must share with a run to serve it: the image (by manifest digest, so a re-tagged name never
/// gets another image's disk), the guest's RAM and vCPUs, and the guest kernel and initramfs (by path, size and mtime:
/// a rebuilt kernel or init makes older members stale). Anything else of a run is applied at Start.
/// </summary>
public sealed record PoolShape(string ImageDigest, long MemoryMiB, int Cpus, string Guest)
{
    /// <summary>The identity of the guest artifacts on disk now.</summary>
    public static string GuestIdentity(string kernelPath, string initramfsPath)
    {
        static string One(string path)
        {
            var info = new FileInfo(path);
            return info.Exists
                ? string.Create(CultureInfo.InvariantCulture, $"{path}@{info.Length}-{info.LastWriteTimeUtc.Ticks}")
                : path + "@missing";
        }
        return One(kernelPath) + "+" + One(initramfsPath);
    }
}
