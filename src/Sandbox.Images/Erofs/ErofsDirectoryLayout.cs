namespace Sandbox.Images.Erofs;

/// <summary>
/// A directory's data: blocks of dirents (12 bytes each: nid, name offset, file type) followed by their names,
/// sorted by name bytes across all blocks ("." and ".." included) so that the kernel can binary-search.
/// A name's length is the gap to the next name, or for the block's last entry up to the first NUL or the block's end.
/// </summary>
internal sealed class ErofsDirectoryLayout
{
    private readonly List<(byte[] Name, ErofsInode Target)> _entries;
    private readonly List<int> _blockStarts = [];
    private readonly List<int> _blockUsed = [];

    public ErofsDirectoryLayout(ErofsInode directory)
    {
        _entries = [("."u8.ToArray(), directory), (".."u8.ToArray(), directory.Parent ?? directory)];
        _entries.AddRange(directory.Children!);
        _entries.Sort((a, b) => a.Name.AsSpan().SequenceCompareTo(b.Name));

        int used = 0, start = 0;
        for (int i = 0; i < _entries.Count; i++)
        {
            int need = ErofsFormat.DirentSize + _entries[i].Name.Length;
            if (used + need > ErofsFormat.BlockSize)
            {
                _blockStarts.Add(start);
                _blockUsed.Add(used);
                start = i;
                used = 0;
            }
            used += need;
        }
        _blockStarts.Add(start);
        _blockUsed.Add(used);
        Size = (ulong)(_blockStarts.Count - 1) * ErofsFormat.BlockSize + (ulong)used;
    }

    public ulong Size { get; }

    public int BlockCount => _blockStarts.Count;

    /// <summary>Writes block <paramref name="block"/> (its used bytes; the rest of <paramref name="b"/> is zeroed).</summary>
    public int EncodeBlock(int block, Span<byte> b)
    {
        b.Clear();
        int first = _blockStarts[block];
        int end = block + 1 < _blockStarts.Count ? _blockStarts[block + 1] : _entries.Count;
        int nameOffset = (end - first) * ErofsFormat.DirentSize;
        for (int i = first; i < end; i++)
        {
            var (name, target) = _entries[i];
            ErofsFormat.WriteDirent(b[((i - first) * ErofsFormat.DirentSize)..], target.Nid, (ushort)nameOffset,
                ErofsFormat.FileType(target.Mode));
            name.CopyTo(b[nameOffset..]);
            nameOffset += name.Length;
        }
        return _blockUsed[block];
    }
}
