namespace Sandbox.Protocol;

/// <summary>One protocol frame. <see cref="Payload"/> is owned by the frame.</summary>
public readonly record struct Frame(MessageType Type, byte[] Payload)
{
    public const int HeaderSize = 5;

    /// <summary>No frame may be larger; a peer announcing more is broken or hostile.</summary>
    public const int MaxPayload = 1 << 20;

    internal static void Require(ReadOnlySpan<byte> payload, int size, MessageType type)
    {
        if (payload.Length < size)
            throw new ProtocolException($"{type} frame too short: {payload.Length} bytes, need {size}");
    }
}

public sealed class ProtocolException(string message) : Exception(message);
