using System.Globalization;
using System.Text;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// The guest kernel's own boot marks, read back from its log (<c>/dev/kmsg</c>) for a traced run
/// (<see cref="InitSpec.TraceBoot"/>): when its clock started, when it unpacked the initramfs, when it exec'd /init.
/// The log's times are the kernel's <c>local_clock</c>, not <c>CLOCK_MONOTONIC</c>: a line init writes itself, between
/// two readings of the monotonic clock, gives the offset between the two.
/// </summary>
internal static class KernelLog
{
    private const string SyncLine = "sandbox-init: boot trace";

    public static List<(MarkKind Kind, long MonotonicNs)> BootMarks()
    {
        var marks = new List<(MarkKind, long)>();
        long before, after;
        using (var writer = Files.Open("/dev/kmsg", Files.O_WRONLY))
        {
            before = Processes.MonotonicNs();
            Files.WriteAll(writer, Encoding.ASCII.GetBytes(SyncLine + "\n"));
            after = Processes.MonotonicNs();
        }
        long? offset = null;
        // The log's time 0 is when the kernel's clock started, early in its boot.
        var found = new List<(MarkKind Kind, long LogNs)> { (MarkKind.KernelStarted, 0) };
        using var reader = Files.Open("/dev/kmsg", Files.O_RDONLY | Files.O_NONBLOCK);
        var buffer = new byte[8192];
        while (true)
        {
            int n;
            try { n = Files.Read(reader, buffer); }
            catch (ErrnoException e) when (e.Errno == 32 /* EPIPE: records overwritten; read on */) { continue; }
            if (n <= 0) break;
            // "<level>,<seq>,<usec>,<flags>[,...];<text>\n"
            var record = Encoding.ASCII.GetString(buffer, 0, n);
            int semicolon = record.IndexOf(';');
            if (semicolon < 0) continue;
            var fields = record[..semicolon].Split(',');
            if (fields.Length < 3 || !long.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out long usec)) continue;
            var text = record[(semicolon + 1)..].TrimEnd('\n');
            long ns = usec * 1000;
            // "Unpacking initramfs..." (no BLK_DEV_RAM) or "Trying to unpack rootfs image as initramfs..."
            if (text.StartsWith("Unpacking initramfs", StringComparison.Ordinal) || text.StartsWith("Trying to unpack rootfs image", StringComparison.Ordinal)) found.Add((MarkKind.InitramfsUnpackStarted, ns));
            else if (text.StartsWith("Freeing initrd memory", StringComparison.Ordinal)) found.Add((MarkKind.InitramfsUnpacked, ns));
            else if (text.StartsWith("Run /init as init process", StringComparison.Ordinal)) found.Add((MarkKind.InitExecuted, ns));
            else if (text == SyncLine) offset = (before + after) / 2 - ns;
        }
        if (offset is long o)
            foreach (var (kind, ns) in found) marks.Add((kind, ns + o));
        return marks;
    }
}
