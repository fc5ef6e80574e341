using Sandbox.Protocol;

namespace Sandbox.Lifecycle;

/// <summary>A write-only stream whose writes become frames of one type (an exec's stdout or stderr, to its client).</summary>
internal sealed class FrameOutputStream(FrameWriter writer, MessageType type) : Stream
{
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try { await writer.WriteAsync(type, buffer, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { /* the client went away: drop output */ }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
