using System.Security.Cryptography;
using Sandbox.Interop.Libc;

namespace Sandbox.Images.Tests;

/// <summary>
/// What a directory tree holds, for comparing two unpacks: per path its type, permission bits (setuid/sticky
/// included), owner, link target or content hash, and (for files) the link count.
/// </summary>
public static class TreeSnapshot
{
    public static SortedDictionary<string, string> Take(string root, Func<string, bool>? exclude = null, bool withTimes = false)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Walk(root, "", result, exclude, withTimes);
        return result;
    }

    private static void Walk(string root, string rel, SortedDictionary<string, string> result, Func<string, bool>? exclude, bool withTimes)
    {
        var dir = rel.Length == 0 ? root : Path.Combine(root, rel);
        foreach (var full in Directory.EnumerateFileSystemEntries(dir))
        {
            var name = rel.Length == 0 ? Path.GetFileName(full) : rel + "/" + Path.GetFileName(full);
            if (exclude?.Invoke(name) == true) continue;
            var info = Statx.GetNoFollow(full);
            var desc = $"{TypeName(info.Type)} {Convert.ToString(info.Permissions, 8)} {info.Uid}:{info.Gid}";
            if (info.IsSymlink) desc += " -> " + new FileInfo(full).LinkTarget;
            else if (info.IsRegular) desc += $" nlink={info.Nlink} sha256={Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(full)))}";
            if (withTimes && !info.IsDirectory) desc += $" mtime={info.MtimeSeconds}";
            result[name] = desc;
            if (info.IsDirectory) Walk(root, name, result, exclude, withTimes);
        }
    }

    private static string TypeName(uint type) => type switch
    {
        Statx.TypeDirectory => "dir",
        Statx.TypeRegular => "file",
        Statx.TypeSymlink => "symlink",
        Statx.TypeFifo => "fifo",
        Statx.TypeCharDevice => "chardev",
        Statx.TypeBlockDevice => "blockdev",
        _ => "other",
    };

    /// <summary>An assertion message listing what differs.</summary>
    public static string Diff(IDictionary<string, string> expected, IDictionary<string, string> actual)
    {
        var lines = new List<string>();
        foreach (var (k, v) in expected)
            if (!actual.TryGetValue(k, out var a)) lines.Add($"missing: {k} ({v})");
            else if (a != v) lines.Add($"differs: {k}: expected {v}, got {a}");
        foreach (var k in actual.Keys.Where(k => !expected.ContainsKey(k))) lines.Add($"extra: {k} ({actual[k]})");
        return string.Join("\n", lines);
    }
}
