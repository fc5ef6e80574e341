namespace Sandbox.Protocol;

/// <summary>
/// One protocol frame: <c>type (u8) | length (u32 LE) | process (u32 LE) | payload</c>. <see cref="Process"/> names
/// the process a frame is about: 0 is the main workload, 1, 2, … are exec'd processes (ids chosen by the host).
/// <see cref="Payload"/> is owned by the frame.
/// </summary>
public readonly record struct Frame(MessageType Type, uint Process, byte[] Payload)
{
    public const int HeaderSize = 9;

    /// <summary>No frame may be larger; a peer announcing more is broken or hostile.</summary>
    public const int MaxPayload = 1 << 20;

    /// <summary>The main workload's process id.</summary>
    public const uint MainProcess = 0;

    internal static void Require(ReadOnlySpan<byte> payload, int size, MessageType type)
    {
        if (payload.Length < size)
            throw new ProtocolException($"{type} frame too short: {payload.Length} bytes, need {size}");
    }
}

public sealed class ProtocolException(string message) : Exception(message);

/// <summary>
/// The protocol's version. <c>Hello</c> carries init's, <c>Start</c> the host's; each side refuses a peer that speaks
/// another one with a clear error. The header's first five bytes (type, length) keep their place across versions, so
/// an older init's <c>Hello</c> (8-byte payload, no version) is recognised too.
/// </summary>
public static class ProtocolVersion
{
    /// <summary>4: Detach/Detached (a container's init becomes the holder of a detached sandbox). 3: Clock (a resumed
    /// guest's clock is stepped). 2: process ids in the header, Exec/Started, Stats,
    /// versioned Hello/Start. 1: one workload per init.</summary>
    public const uint Current = 4;
}
