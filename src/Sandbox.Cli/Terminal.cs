using Sandbox.Interop.Libc;

namespace Sandbox.Cli;

/// <summary>The controlling terminal's size, for <c>-t</c>.</summary>
public static class Terminal
{
    public static bool TryGetSize(out ushort rows, out ushort columns)
    {
        using var stdout = new SafeFd(1, ownsHandle: false);
        using var stdin = new SafeFd(0, ownsHandle: false);
        return Terminals.TryGetWindowSize(stdout, out rows, out columns) || Terminals.TryGetWindowSize(stdin, out rows, out columns);
    }
}
