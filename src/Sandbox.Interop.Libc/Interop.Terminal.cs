namespace Sandbox.Interop.Libc;

/// <summary>Terminals: pseudo-terminal pairs, window sizes, raw mode (termios).</summary>
public static class Terminals
{
    private const ulong TIOCSPTLCK = 0x40045431, TIOCGPTPEER = 0x5441, TIOCSWINSZ = 0x5414, TIOCGWINSZ = 0x5413, TIOCSCTTY = 0x540E;
    private const ulong TCGETS = 0x5401, TCSETS = 0x5402;

    /// <summary>Opens a new pty pair from the ptmx at <paramref name="ptmx"/> (the sandbox's own devpts instance).</summary>
    public static unsafe (SafeFd Master, SafeFd Slave) OpenPty(string ptmx)
    {
        var master = Files.Open(ptmx, Files.O_RDWR | Files.O_NOCTTY);
        try
        {
            int unlock = 0;
            Files.Ioctl(master, TIOCSPTLCK, &unlock, "TIOCSPTLCK");
            // TIOCGPTPEER opens the slave through the master, immune to a swapped /dev/pts path.
            int slave = Files.IoctlInt(master, TIOCGPTPEER, Files.O_RDWR | Files.O_NOCTTY | Files.O_CLOEXEC, "TIOCGPTPEER");
            return (master, new SafeFd(slave));
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>Makes <paramref name="tty"/> the calling session leader's controlling terminal (TIOCSCTTY): it then gets SIGWINCH when the size changes.</summary>
    public static void SetControllingTerminal(SafeFd tty) => Files.IoctlInt(tty, TIOCSCTTY, 0, "TIOCSCTTY");

    public static unsafe void SetWindowSize(SafeFd tty, ushort rows, ushort columns)
    {
        ushort* ws = stackalloc ushort[4];
        ws[0] = rows; ws[1] = columns; ws[2] = 0; ws[3] = 0;
        Files.Ioctl(tty, TIOCSWINSZ, ws, "TIOCSWINSZ");
    }

    public static unsafe bool TryGetWindowSize(SafeFd tty, out ushort rows, out ushort columns)
    {
        ushort* ws = stackalloc ushort[4];
        try { Files.Ioctl(tty, TIOCGWINSZ, ws, "TIOCGWINSZ"); }
        catch (ErrnoException) { rows = columns = 0; return false; }
        rows = ws[0]; columns = ws[1];
        return true;
    }

    /// <summary>Saved terminal attributes, restored by <see cref="Restore"/>.</summary>
    public sealed class SavedMode(SafeFd tty, byte[] termios)
    {
        public unsafe void Restore()
        {
            fixed (byte* p = termios)
            {
                try { Files.Ioctl(tty, TCSETS, p, "TCSETS"); } catch (ErrnoException) { }
            }
        }
    }

    /// <summary>Puts a terminal in raw mode (cfmakeraw), returning what to restore.</summary>
    public static unsafe SavedMode MakeRaw(SafeFd tty)
    {
        var saved = new byte[60];
        fixed (byte* p = saved) Files.Ioctl(tty, TCGETS, p, "TCGETS");
        var raw = (byte[])saved.Clone();
        fixed (byte* p = raw)
        {
            uint* iflag = (uint*)p, oflag = (uint*)(p + 4), cflag = (uint*)(p + 8), lflag = (uint*)(p + 12);
            *iflag &= ~(0x1u | 0x2u | 0x8u | 0x20u | 0x40u | 0x80u | 0x100u | 0x400u); // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
            *oflag &= ~0x1u;                                                          // OPOST
            *lflag &= ~(0x8u | 0x40u | 0x2u | 0x1u | 0x8000u);                        // ECHO ECHONL ICANON ISIG IEXTEN
            *cflag &= ~(0x30u | 0x100u);                                              // CSIZE PARENB
            *cflag |= 0x30u;                                                          // CS8
            p[17 + 6] = 1;  // c_cc[VMIN]
            p[17 + 5] = 0;  // c_cc[VTIME]
            Files.Ioctl(tty, TCSETS, p, "TCSETS");
        }
        return new SavedMode(tty, saved);
    }
}
