using Sandbox.Interop.Libc;

namespace Sandbox.Protocol.Host;

/// <summary>
/// This process's stdout or stderr as a stream of plain write(2) calls. Not a <see cref="FileStream"/>: on a regular
/// file (<c>sandbox run --vm ... &gt; out.txt</c>, or a script's redirected block) that writes with pwrite(2) at a
/// position of its own and never moves the file offset the fd shares with the shell, so whatever the shell wrote next
/// overwrote the sandbox's output. write(2) goes to the shared offset, as a container's inherited fd does.
/// </summary>
internal sealed class FdWriteStream(int fd) : Stream
{
    private readonly SafeFd _fd = new(fd, ownsHandle: false);

    public override bool CanRead => false;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try { Files.WriteAll(_fd, buffer); }
        catch (ErrnoException e) { throw new IOException(e.Message, e); }
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
