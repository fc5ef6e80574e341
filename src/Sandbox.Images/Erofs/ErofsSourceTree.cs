using System.Text;
using Sandbox.Interop.Libc;

namespace Sandbox.Images.Erofs;

/// <summary>
/// The metadata of a directory tree, read without following any symlink: every directory is opened beneath the
/// root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), entries are statx'ed with AT_SYMLINK_NOFOLLOW.
/// Holds metadata only (file data is copied later), so memory grows with the number of entries, not their size.
/// </summary>
internal sealed class ErofsSourceTree
{
    private readonly Dictionary<(uint, uint, ulong), ErofsInode> _hardLinks = [];

    private ErofsSourceTree(ErofsInode root) => Root = root;

    public ErofsInode Root { get; }

    /// <summary>Every inode once, directories before their children, each directory's entries together.</summary>
    public List<ErofsInode> Inodes { get; } = [];

    public static ErofsSourceTree Read(SafeFd rootFd, string rootPath, CancellationToken cancellationToken)
    {
        var st = Statx.Get(rootFd, rootPath);
        if ((st.Mode & ErofsFormat.S_IFMT) != ErofsFormat.S_IFDIR)
            throw new ErrnoException(20 /* ENOTDIR */, "erofs source", rootPath);
        var root = NewInode(st, relativePath: null, symlinkTarget: null);
        AddXattrs(root, ReadXattrs(rootFd, default, rootPath), rootPath);
        var tree = new ErofsSourceTree(root);
        tree.Inodes.Add(root);
        tree.ReadDirectory(rootFd, root, [], rootPath, cancellationToken);
        tree.Root.LinkCount = 2 + (uint)root.Children!.Count(c => c.Inode.IsDirectory);
        return tree;
    }

    private void ReadDirectory(SafeFd rootFd, ErofsInode directory, byte[] relativePath, string rootPath, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var subdirectories = new List<(ErofsInode Inode, byte[] Path)>();
        using (var dirFd = relativePath.Length == 0
                   ? FileAt.OpenAt(rootFd, "."u8, OpenFlags.ReadOnly | OpenFlags.Directory | OpenFlags.NoFollow | OpenFlags.CloseOnExec, rootPath)
                   : OpenBeneath(rootFd, relativePath, OpenFlags.ReadOnly | OpenFlags.Directory))
        {
            string dirSubject = Show(rootPath, relativePath);
            var names = DirEntries.ListNames(dirFd, dirSubject);
            names.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
            var children = new List<(byte[], ErofsInode)>(names.Count);
            foreach (byte[] name in names)
            {
                byte[] childPath = relativePath.Length == 0 ? name : [.. relativePath, (byte)'/', .. name];
                string subject = Show(rootPath, childPath);
                var st = Statx.GetNoFollow(dirFd, name, subject);
                uint type = st.Mode & ErofsFormat.S_IFMT;
                if (type != ErofsFormat.S_IFDIR && st.Nlink > 1 &&
                    _hardLinks.TryGetValue((st.DevMajor, st.DevMinor, st.Inode), out var existing))
                {
                    existing.LinkCount++;
                    children.Add((name, existing));
                    continue;
                }
                byte[]? target = type == ErofsFormat.S_IFLNK ? FileAt.ReadLinkAt(dirFd, name, subject) : null;
                var inode = NewInode(st, type == ErofsFormat.S_IFREG ? childPath : null, target);
                inode.Parent = directory;
                AddXattrs(inode, ReadXattrs(dirFd, name, subject), subject);
                if (type == ErofsFormat.S_IFDIR) subdirectories.Add((inode, childPath));
                else
                {
                    inode.LinkCount = 1;
                    if (st.Nlink > 1) _hardLinks[(st.DevMajor, st.DevMinor, st.Inode)] = inode;
                }
                Inodes.Add(inode);
                children.Add((name, inode));
            }
            directory.Children = children;
        }
        foreach (var (sub, path) in subdirectories)
        {
            ReadDirectory(rootFd, sub, path, rootPath, ct);
            sub.LinkCount = 2 + (uint)sub.Children!.Count(c => c.Inode.IsDirectory);
        }
    }

    /// <summary>Opens the tree's root, given by a caller-supplied path (symlinks in it are the caller's choice).</summary>
    public static SafeFd OpenRoot(string path) => Files.Open(path, OpenFlags.ReadOnly | OpenFlags.Directory);

    /// <summary>
    /// Opens <paramref name="relativePath"/> beneath <paramref name="root"/> with no symlink followed anywhere on the
    /// way (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a tree changed under us fails instead of leaking host files.
    /// </summary>
    public static SafeFd OpenBeneath(SafeFd root, ReadOnlySpan<byte> relativePath, int flags) =>
        OpenAt2.Open(root, relativePath, flags | OpenFlags.NoFollow | OpenFlags.CloseOnExec,
            OpenAt2.Resolve.Beneath | OpenAt2.Resolve.NoSymlinks | OpenAt2.Resolve.NoMagicLinks, Encoding.UTF8.GetString(relativePath));

    /// <summary>
    /// Extended attributes of <paramref name="name"/> in the directory <paramref name="dir"/>, not following a final
    /// symlink: addressed as /proc/self/fd/DIR/NAME, so the directory is the one we hold open, not a path re-walked.
    /// An empty name means the directory itself, whose magic link must be followed (llistxattr on it would read procfs).
    /// </summary>
    private static List<(byte[] Name, byte[] Value)> ReadXattrs(SafeFd dir, ReadOnlySpan<byte> name, string subject)
    {
        byte[] prefix = Encoding.ASCII.GetBytes($"/proc/self/fd/{dir.Fd}");
        return name.IsEmpty
            ? Xattr.List(prefix, followFinalSymlink: true, subject)
            : Xattr.List([.. prefix, (byte)'/', .. name], followFinalSymlink: false, subject);
    }

    private static ErofsInode NewInode(Statx.Info st, byte[]? relativePath, byte[]? symlinkTarget)
    {
        uint type = st.Mode & ErofsFormat.S_IFMT;
        return new ErofsInode
        {
            Mode = st.Mode,
            Uid = st.Uid,
            Gid = st.Gid,
            MtimeSec = st.MtimeSeconds,
            MtimeNsec = st.MtimeNanoseconds,
            FileSize = type == ErofsFormat.S_IFREG ? st.Size : 0,
            SourceIno = st.Inode,
            Rdev = type is ErofsFormat.S_IFCHR or ErofsFormat.S_IFBLK ? ErofsFormat.EncodeDevice(st.RdevMajor, st.RdevMinor) : 0,
            RelativePath = relativePath,
            SymlinkTarget = symlinkTarget,
        };
    }

    private static void AddXattrs(ErofsInode inode, List<(byte[] Name, byte[] Value)> xattrs, string subject)
    {
        foreach (var (name, value) in xattrs) inode.Xattrs.Add(ErofsXattr.Create(name, value, subject));
        inode.Xattrs.Sort();
    }

    private static string Show(string root, byte[] relativePath) =>
        relativePath.Length == 0 ? root : Path.Join(root, Encoding.UTF8.GetString(relativePath));
}
