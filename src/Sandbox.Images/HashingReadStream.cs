using System.Security.Cryptography;

namespace Sandbox.Images;

/// <summary>A read-only stream that hashes and counts what passes through it.</summary>
internal sealed class HashingReadStream(Stream inner, bool leaveOpen = false) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    /// <summary>The running hash (for callers that read to the end themselves).</summary>
    public IncrementalHash Hash => _hash;

    /// <summary>Reads what is left (tar end padding) so the digest covers the whole stream, then returns it.</summary>
    public string DrainAndGetDigest()
    {
        var buf = new byte[81920];
        while (Read(buf, 0, buf.Length) > 0) { }
        return Digests.Of(_hash);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        if (n > 0)
        {
            _hash.AppendData(buffer[..n]);
            BytesRead += n;
        }
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!leaveOpen) inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
