using Microsoft.Win32.SafeHandles;

namespace Sandbox.Init;

/// <summary>
/// A virtio-serial port found by name, as udev would: <c>/sys/class/virtio-ports/vportNpM/name</c> holds the name the
/// host gave the port, <c>/dev/vportNpM</c> is its device (made by devtmpfs). The driver allows a single open of a port,
/// so one fd carries both directions, wrapped in two unbuffered streams.
/// </summary>
internal static class VirtioPort
{
    private const string SysDir = "/sys/class/virtio-ports";

    public static InitChannel Open(string name)
    {
        // The port's driver may still be probing when init starts: give it up to two seconds.
        for (int attempt = 0; ; attempt++)
        {
            if (Find(name) is string dev && File.Exists(dev))
            {
                var fd = File.OpenHandle(dev, FileMode.Open, FileAccess.ReadWrite);
                return new InitChannel(new FileStream(fd, FileAccess.Read, 0), new FileStream(fd, FileAccess.Write, 0)) { Port = fd };
            }
            if (attempt >= 200)
                throw new IOException($"no virtio-serial port named '{name}' under {SysDir}");
            Thread.Sleep(10);
        }
    }

    private static string? Find(string name)
    {
        if (!Directory.Exists(SysDir)) return null;
        foreach (var dir in Directory.EnumerateDirectories(SysDir))
        {
            var nameFile = Path.Combine(dir, "name");
            if (File.Exists(nameFile) && File.ReadAllText(nameFile).Trim() == name)
                return "/dev/" + Path.GetFileName(dir);
        }
        return null;
    }
}
