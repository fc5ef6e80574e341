using System.Runtime.InteropServices;

namespace Sandbox.Cli;

/// <summary>The controlling terminal's size, for <c>-t</c>.</summary>
public static class Terminal
{
    public static bool TryGetSize(out ushort rows, out ushort columns)
    {
        Span<ushort> ws = stackalloc ushort[4];
        unsafe
        {
            fixed (ushort* p = ws)
            {
                if (Ioctl(1, TIOCGWINSZ, p) == 0 || Ioctl(0, TIOCGWINSZ, p) == 0)
                {
                    rows = ws[0];
                    columns = ws[1];
                    return true;
                }
            }
        }
        rows = columns = 0;
        return false;
    }

    private const ulong TIOCGWINSZ = 0x5413;

    [DllImport("libc", EntryPoint = "ioctl")]
    private static extern unsafe int Ioctl(int fd, ulong request, void* arg);
}
