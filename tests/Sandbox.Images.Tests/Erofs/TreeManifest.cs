using System.Security.Cryptography;

namespace Sandbox.Images.Tests.Erofs;

/// <summary>
/// Everything observable about a tree, one line per path: type, permission bits (setuid/setgid/sticky included),
/// owner, link count, size, mtime, device numbers, symlink target, xattrs, content hash and hard-link partners.
/// Two trees are alike exactly when their manifests are equal.
/// </summary>
internal static class TreeManifest
{
    public static SortedDictionary<string, string> Capture(string root)
    {
        var paths = new List<string> { "" };
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        paths.AddRange(Directory.EnumerateFileSystemEntries(root, "*", options).Select(p => Path.GetRelativePath(root, p)));

        var status = paths.ToDictionary(p => p, p => TestFileSystem.LStat(Path.Combine(root, p)));
        var byIno = status.Where(s => (s.Value.Mode & 0xF000) != 0x4000)
            .GroupBy(s => s.Value.Ino).Where(g => g.Count() > 1)
            .SelectMany(g => g.Select(s => (s.Key, Partners: string.Join(",", g.Select(x => x.Key).Where(x => x != s.Key).Order(StringComparer.Ordinal)))))
            .ToDictionary(x => x.Key, x => x.Partners);

        var manifest = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string p in paths)
        {
            string full = p.Length == 0 ? root : Path.Combine(root, p);
            var s = status[p];
            uint type = s.Mode & 0xF000;
            string kind = type switch
            {
                0x8000 => "file", 0x4000 => "dir", 0xA000 => "symlink", 0x2000 => "chr", 0x6000 => "blk",
                0x1000 => "fifo", 0xC000 => "sock", _ => $"type{type:x}",
            };
            var line = $"{kind} mode={Convert.ToString(s.Mode & 0xFFF, 8)} uid={s.Uid} gid={s.Gid} nlink={s.Nlink} mtime={s.MtimeSec}.{s.MtimeNsec:D9}";
            if (type is 0x8000 or 0xA000) line += $" size={s.Size}";
            if (type is 0x2000 or 0x6000) line += $" rdev={s.RdevMajor}:{s.RdevMinor}";
            if (type == 0xA000) line += $" target={new FileInfo(full).LinkTarget}";
            if (type == 0x8000) line += $" sha256={Hash(full)}";
            var xattrs = TestFileSystem.ListXattrs(full);
            if (xattrs.Count > 0) line += " xattrs=" + string.Join(";", xattrs.Select(x => $"{x.Key}={x.Value}"));
            if (byIno.TryGetValue(p, out string? partners)) line += $" hardlinks={partners}";
            manifest[p.Length == 0 ? "." : p] = line;
        }
        return manifest;
    }

    private static string Hash(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexString(SHA256.HashData(f))[..16];
    }

    /// <summary>Lines that differ, as "path: expected | actual", for a readable assertion message.</summary>
    public static List<string> Diff(SortedDictionary<string, string> expected, SortedDictionary<string, string> actual)
    {
        var diffs = new List<string>();
        foreach (var (path, line) in expected)
            if (!actual.TryGetValue(path, out string? other)) diffs.Add($"{path}: missing in image ({line})");
            else if (other != line) diffs.Add($"{path}:\n   source {line}\n   image  {other}");
        foreach (var path in actual.Keys.Where(k => !expected.ContainsKey(k))) diffs.Add($"{path}: only in image ({actual[path]})");
        return diffs;
    }
}
