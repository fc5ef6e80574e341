using System.Buffers.Binary;

namespace Sandbox.Protocol;

/// <summary>Writes frames to a byte stream; safe to call from several threads (frames never interleave).</summary>
public sealed class FrameWriter(Stream stream)
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public void Write(MessageType type, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > Frame.MaxPayload)
            throw new ArgumentException($"payload of {payload.Length} bytes exceeds the frame limit");
        var buffer = Build(type, payload);
        _lock.Wait();
        try
        {
            stream.Write(buffer);
            stream.Flush();
        }
        finally { _lock.Release(); }
    }

    public async ValueTask WriteAsync(MessageType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        if (payload.Length > Frame.MaxPayload)
            throw new ArgumentException($"payload of {payload.Length} bytes exceeds the frame limit");
        var buffer = Build(type, payload.Span);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _lock.Release(); }
    }

    private static byte[] Build(MessageType type, ReadOnlySpan<byte> payload)
    {
        var buffer = new byte[Frame.HeaderSize + payload.Length];
        buffer[0] = (byte)type;
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(buffer.AsSpan(Frame.HeaderSize));
        return buffer;
    }
}
