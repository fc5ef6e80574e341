using System.Formats.Tar;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Images;

/// <summary>
/// Writes a directory tree as one tar layer, keeping owners, modes, times, symlinks and hardlinks. GNU format: long
/// names and large ids or sizes without PAX headers, whose names .NET's writer builds from the writing process's pid
/// (the same tree imported by two processes gave two digests).
/// </summary>
internal static class DirectoryLayerWriter
{
    public static void Write(string directory, Stream output)
    {
        using var writer = new TarWriter(output, TarEntryFormat.Gnu, leaveOpen: true);
        var seen = new Dictionary<(uint, uint, ulong), string>();
        var root = Path.GetFullPath(directory);
        WriteEntry(writer, root, "", Statx.GetNoFollow(root), seen);
        Walk(writer, root, "", seen);
    }

    private static void Walk(TarWriter writer, string root, string relative, Dictionary<(uint, uint, ulong), string> seen)
    {
        var dir = relative.Length == 0 ? root : Path.Combine(root, relative);
        var names = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        foreach (var name in names)
        {
            var rel = relative.Length == 0 ? name! : relative + "/" + name;
            var full = Path.Combine(root, rel);
            var info = Statx.GetNoFollow(full);
            WriteEntry(writer, full, rel, info, seen);
            if (info.IsDirectory) Walk(writer, root, rel, seen);
        }
    }

    private static void WriteEntry(TarWriter writer, string full, string rel, Statx.Info info, Dictionary<(uint, uint, ulong), string> seen)
    {
        var name = rel.Length == 0 ? "./" : rel;
        GnuTarEntry entry;
        switch (info.Type)
        {
            case Statx.TypeDirectory:
                entry = new GnuTarEntry(TarEntryType.Directory, name.EndsWith('/') ? name : name + "/");
                break;
            case Statx.TypeRegular when info.Nlink > 1 && seen.TryGetValue((info.DevMajor, info.DevMinor, info.Inode), out var first):
                entry = new GnuTarEntry(TarEntryType.HardLink, name) { LinkName = first };
                break;
            case Statx.TypeRegular:
                if (info.Nlink > 1) seen[(info.DevMajor, info.DevMinor, info.Inode)] = name;
                entry = new GnuTarEntry(TarEntryType.RegularFile, name);
                break;
            case Statx.TypeSymlink:
                entry = new GnuTarEntry(TarEntryType.SymbolicLink, name) { LinkName = new FileInfo(full).LinkTarget ?? "" };
                break;
            case Statx.TypeFifo:
                entry = new GnuTarEntry(TarEntryType.Fifo, name);
                break;
            case Statx.TypeCharDevice or Statx.TypeBlockDevice:
                entry = new GnuTarEntry(info.Type == Statx.TypeCharDevice ? TarEntryType.CharacterDevice : TarEntryType.BlockDevice, name)
                {
                    DeviceMajor = (int)info.RdevMajor,
                    DeviceMinor = (int)info.RdevMinor,
                };
                break;
            default:
                return; // sockets belong to a running system, not an image
        }
        entry.Uid = (int)info.Uid;
        entry.Gid = (int)info.Gid;
        entry.Mode = (UnixFileMode)info.Permissions;
        entry.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(info.MtimeSeconds);
        if (entry.EntryType == TarEntryType.RegularFile)
        {
            using var data = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            entry.DataStream = data;
            writer.WriteEntry(entry);
        }
        else writer.WriteEntry(entry);
    }

    /// <summary>Checks the directory is one that can be imported.</summary>
    public static void Validate(string directory)
    {
        if (!Directory.Exists(directory)) throw new SandboxException(SandboxFailure.Image, $"{directory}: not a directory");
    }
}
