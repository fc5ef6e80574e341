using System.Buffers;
using System.Buffers.Binary;

namespace Sandbox.Protocol;

/// <summary>Writes frames to a byte stream; safe to call from several threads (frames never interleave).</summary>
public sealed class FrameWriter(Stream stream)
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public void Write(MessageType type, ReadOnlySpan<byte> payload) => Write(type, Frame.MainProcess, payload);

    public void Write(MessageType type, uint process, ReadOnlySpan<byte> payload)
    {
        int size = Check(payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            Build(buffer, type, process, payload);
            _lock.Wait();
            try
            {
                stream.Write(buffer, 0, size);
                stream.Flush();
            }
            finally { _lock.Release(); }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    public ValueTask WriteAsync(MessageType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        WriteAsync(type, Frame.MainProcess, payload, cancellationToken);

    public async ValueTask WriteAsync(MessageType type, uint process, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        int size = Check(payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            Build(buffer, type, process, payload.Span);
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await stream.WriteAsync(buffer.AsMemory(0, size), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally { _lock.Release(); }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private static int Check(int length) => length <= Frame.MaxPayload
        ? Frame.HeaderSize + length
        : throw new ArgumentException($"payload of {length} bytes exceeds the frame limit");

    private static void Build(byte[] buffer, MessageType type, uint process, ReadOnlySpan<byte> payload)
    {
        buffer[0] = (byte)type;
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(1), (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(5), process);
        payload.CopyTo(buffer.AsSpan(Frame.HeaderSize));
    }
}
