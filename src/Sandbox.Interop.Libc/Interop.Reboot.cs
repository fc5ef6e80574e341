using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>reboot(2): how a guest's PID 1 ends its machine.</summary>
public static partial class Machine
{
    private const int LINUX_REBOOT_CMD_RESTART = 0x01234567;

    /// <summary>Resets the machine at once (no sync: nothing in a sandbox guest is meant to persist).</summary>
    public static void Restart()
    {
        if (reboot(LINUX_REBOOT_CMD_RESTART) != 0) throw ErrnoException.FromLastError("reboot");
    }

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int reboot(int cmd);
}
