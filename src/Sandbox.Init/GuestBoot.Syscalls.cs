using System.Runtime.InteropServices;

namespace Sandbox.Init;

// The few calls only the guest boot makes.
internal static partial class GuestBoot
{
    private const ulong MsRdOnly = 1, MsNoSuid = 2, MsNoDev = 4, MsNoExec = 8;

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountNative(string source, string target, string fsType, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "reboot", SetLastError = true)]
    private static partial int RebootNative(int cmd);

    [LibraryImport("libc", EntryPoint = "sync")]
    private static partial void SyncNative();

    private static void Mount(string source, string target, string fsType, ulong flags, string? data)
    {
        Directory.CreateDirectory(target);
        if (MountNative(source, target, fsType, flags, data) != 0)
            throw new GuestSyscallException(Marshal.GetLastPInvokeError(), "mount", $"{fsType} {source} on {target}");
    }

    /// <summary>Resets the machine; with on_reboot=destroy the host sees the domain end at once.</summary>
    private static void Reset()
    {
        const int LINUX_REBOOT_CMD_RESTART = 0x01234567;
        RebootNative(LINUX_REBOOT_CMD_RESTART);
        // Only reached when reboot failed (not PID 1 in a guest, e.g. run by hand): there is nothing left to do.
    }
}
