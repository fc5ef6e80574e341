using System.Buffers.Binary;

namespace Sandbox.Protocol;

/// <summary>Reads frames from a byte stream. Returns null at a clean end of stream between frames.</summary>
public sealed class FrameReader(Stream stream)
{
    private readonly byte[] _header = new byte[Frame.HeaderSize];

    public Frame? Read()
    {
        if (!Fill(_header, allowEof: true)) return null;
        var (type, process, length) = ParseHeader();
        var payload = length == 0 ? [] : new byte[length];
        Fill(payload, allowEof: false);
        return new Frame(type, process, payload);
    }

    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (!await FillAsync(_header, allowEof: true, cancellationToken).ConfigureAwait(false)) return null;
        var (type, process, length) = ParseHeader();
        var payload = length == 0 ? [] : new byte[length];
        await FillAsync(payload, allowEof: false, cancellationToken).ConfigureAwait(false);
        return new Frame(type, process, payload);
    }

    private (MessageType, uint, int) ParseHeader()
    {
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(1));
        if (length > Frame.MaxPayload)
            throw new ProtocolException($"frame of type {_header[0]} announces {length} bytes, over the {Frame.MaxPayload} limit");
        return ((MessageType)_header[0], BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(5)), (int)length);
    }

    private bool Fill(byte[] buffer, bool allowEof)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = stream.Read(buffer, done, buffer.Length - done);
            if (n == 0) return EndOfStream(done, allowEof);
            done += n;
        }
        return true;
    }

    private async ValueTask<bool> FillAsync(byte[] buffer, bool allowEof, CancellationToken cancellationToken)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(done), cancellationToken).ConfigureAwait(false);
            if (n == 0) return EndOfStream(done, allowEof);
            done += n;
        }
        return true;
    }

    private static bool EndOfStream(int done, bool allowEof) =>
        allowEof && done == 0 ? false : throw new ProtocolException("stream ended inside a frame");
}
