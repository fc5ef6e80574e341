using Sandbox.Core;

namespace Sandbox.Images;

/// <summary>Archive entry names made into clean paths relative to the rootfs.</summary>
internal static class EntryPath
{
    /// <summary>
    /// <c>./a//b/</c> → <c>a/b</c>; a leading <c>/</c> is dropped (the name is taken relative to the rootfs, as tar
    /// does). A <c>..</c> component is refused outright: no legitimate layer needs one, and refusing makes a hostile
    /// layer fail loudly instead of landing somewhere surprising. "" is the rootfs itself.
    /// </summary>
    public static string Normalize(string name, string what)
    {
        // No path the kernel takes can hold a NUL (the fuzzer's find: it reached the first syscall as an ArgumentException).
        if (name.Contains('\0'))
            throw new SandboxException(SandboxFailure.Image, $"{what}: entry '{name.Replace('\0', '?')}' has a NUL byte in its name");
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>(parts.Length);
        foreach (var p in parts)
        {
            if (p == ".") continue;
            if (p == "..")
                throw new SandboxException(SandboxFailure.Image, $"{what}: entry '{name}' has a '..' component (refusing an entry that could climb out of the rootfs)");
            kept.Add(p);
        }
        return string.Join('/', kept);
    }

    public static string Parent(string path) => path.LastIndexOf('/') is int i and >= 0 ? path[..i] : "";

    public static string BaseName(string path) => path.LastIndexOf('/') is int i and >= 0 ? path[(i + 1)..] : path;

    public static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "/" + name;
}
