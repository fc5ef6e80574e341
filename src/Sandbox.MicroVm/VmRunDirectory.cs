using Sandbox.Core;

namespace Sandbox.MicroVm;

/// <summary>
/// Per-VM state (the channel socket, the serial console log) lives in <c>&lt;root&gt;/vm/&lt;id&gt;</c>, apart from the
/// container backend's <c>run/</c>, whose reaper treats every directory there as a container's.
/// </summary>
public static class VmRunDirectory
{
    public static string Parent(SandboxPaths paths) => Path.Combine(paths.Root, "vm");

    public static string For(SandboxPaths paths, string id) => Path.Combine(Parent(paths), id);

    /// <summary>Creates the directory, private to root (it holds the socket that drives the guest's init).</summary>
    public static string Create(SandboxPaths paths, string id)
    {
        var dir = For(paths, id);
        Directory.CreateDirectory(Parent(paths));
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return dir;
    }
}
