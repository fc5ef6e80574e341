namespace Sandbox.Images;

/// <summary>
/// Passes a tar stream through and notes whether it ran dry and whether an all-zero 512-byte block (the
/// end-of-archive marker) went by, so a tar cut short can be told from one that ended properly.
/// </summary>
internal sealed class EofTrackingStream(Stream inner) : Stream
{
    private long _position;
    private readonly byte[] _block = new byte[512];
    private int _blockFill;

    public bool HitEof { get; private set; }
    public bool SawEndBlocks { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        if (n == 0)
        {
            HitEof = true;
            return 0;
        }
        Track(buffer[..n]);
        _position += n;
        return n;
    }

    private void Track(ReadOnlySpan<byte> data)
    {
        // Reassemble 512-byte blocks on their stream boundaries and look for an all-zero one.
        while (data.Length > 0 && !SawEndBlocks)
        {
            int take = Math.Min(512 - _blockFill, data.Length);
            data[..take].CopyTo(_block.AsSpan(_blockFill));
            _blockFill += take;
            data = data[take..];
            if (_blockFill == 512)
            {
                if (!_block.AsSpan().ContainsAnyExcept((byte)0)) SawEndBlocks = true;
                _blockFill = 0;
            }
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
