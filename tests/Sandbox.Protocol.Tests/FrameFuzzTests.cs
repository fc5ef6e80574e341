using System.Text;
using System.Text.Json;
using CsCheck;

namespace Sandbox.Protocol.Tests;

/// <summary>
/// Fuzzes the frame reader and every payload decoder with generated frame streams, byte-mutated (docs/fuzzing.md).
/// The reader's only error is <see cref="ProtocolException"/>; the synchronous and asynchronous readers agree on every
/// input; decoders fail only with ProtocolException (the spec reader also with JsonException, which init reports as a
/// bad start frame); an Error frame's text is printable on the user's terminal whatever the guest sent.
/// </summary>
public sealed class FrameFuzzTests
{
    private static long Iter(long ci) =>
        Environment.GetEnvironmentVariable("CsCheck_Iter") is { Length: > 0 } || Environment.GetEnvironmentVariable("CsCheck_Time") is { Length: > 0 } ? -1 : ci;

    private static readonly MessageType[] Types = Enum.GetValues<MessageType>();

    private static byte[] Encode(IEnumerable<(MessageType Type, byte[] Payload)> frames)
    {
        var ms = new MemoryStream();
        var w = new FrameWriter(ms);
        foreach (var (t, p) in frames) w.Write(t, p);
        return ms.ToArray();
    }

    /// <summary>A stream of well-formed frames, then afl-style byte mutations (flips, truncation, insertion, header lengths).</summary>
    private static readonly Gen<byte[]> Streams =
        Gen.Select(Gen.OneOf<MessageType>(Types), Gen.Byte.Array[0, 40]).Array[0, 6].Select(Encode)
            .SelectMany(s => Gen.Select(Gen.Int[0, 4], Gen.UInt, Gen.Byte).Array[0, 4].Select(ops =>
            {
                var data = s.ToList();
                foreach (var (kind, at, v) in ops)
                {
                    int n = data.Count, i = n == 0 ? 0 : (int)(at % (uint)n);
                    if (kind == 0 && n > 0) data[i] ^= v;
                    else if (kind == 1) data.RemoveRange(i, n - i);
                    else if (kind == 2) data.Insert(i, v);
                    else if (kind == 3 && n > 0) data[i] = 0xff;
                    else if (kind == 4 && n > 0) data[i] = 0;
                }
                return data.ToArray();
            }));

    private static List<Frame> ReadAll(byte[] bytes, bool async)
    {
        var r = new FrameReader(new MemoryStream(bytes));
        var frames = new List<Frame>();
        while ((async ? r.ReadAsync().AsTask().GetAwaiter().GetResult() : r.Read()) is { } f) frames.Add(f);
        return frames;
    }

    private static string Outcome(byte[] bytes, bool async)
    {
        try
        {
            return string.Join(";", ReadAll(bytes, async).Select(f => $"{f.Type}:{Convert.ToHexString(f.Payload)}"));
        }
        catch (ProtocolException e)
        {
            return "error: " + e.Message;
        }
    }

    [Fact]
    public void Reader_fails_only_with_ProtocolException_and_sync_and_async_agree()
    {
        Streams.Sample(bytes => Assert.Equal(Outcome(bytes, async: false), Outcome(bytes, async: true)),
            iter: Iter(5000), threads: 1, print: b => Convert.ToHexString(b));
    }

    [Fact]
    public void Decoders_fail_only_with_ProtocolException()
    {
        Gen.Select(Gen.OneOf<MessageType>(Types), Gen.Byte.Array[0, 24]).Sample(t =>
        {
            var (type, p) = t;
            try
            {
                switch (type)
                {
                    case MessageType.Exited: ExitMessage.Decode(p); break;
                    case MessageType.Mark: MarkMessage.Decode(p); break;
                    case MessageType.Hello: Payload.ReadInt64(p, type); break;
                    case MessageType.Signal: Payload.ReadInt32(p, type); break;
                    case MessageType.Resize: Payload.ReadResize(p); break;
                    case MessageType.Error:
                        var e = ErrorMessage.Decode(p);
                        Assert.DoesNotContain(e.Message, char.IsControl);
                        Assert.True(e.Message.Length <= ErrorMessage.MaxMessageChars + 1);
                        break;
                }
            }
            catch (ProtocolException) { }
        }, iter: Iter(5000), threads: 1);
    }

    [Fact]
    public void Error_text_from_a_hostile_guest_is_one_printable_line()
    {
        var hostile = new ErrorMessage(InitFailure.Other, 0, "boom\n\u001b[2J\u001b]0;owned\u0007\r" + new string('x', 5000)).Encode();
        var e = ErrorMessage.Decode(hostile);
        Assert.StartsWith("boom\uFFFD\uFFFD[2J\uFFFD]0;owned\uFFFD\uFFFDxxx", e.Message);
        Assert.Equal(ErrorMessage.MaxMessageChars + 1, e.Message.Length);
        Assert.Equal("exec x: Permission denied", ErrorMessage.Decode(new ErrorMessage(InitFailure.CommandNotExecutable, 13, "exec x: Permission denied").Encode()).Message);
    }

    [Fact]
    public void Start_spec_reader_fails_only_with_ProtocolException_or_JsonException()
    {
        var seed = Payload.Start(new InitSpec
        {
            Argv = ["sh", "-c", "echo"], Env = ["A=b"], WorkingDir = "/w", User = "1:2", Tty = true, TtyRows = 24,
            Mounts = [new BindMount { Source = "/a", Target = "/b", ReadOnly = true }], ExtraHosts = ["h 1.2.3.4"],
        });
        Gen.Select(Gen.Int[0, 3], Gen.UInt, Gen.Byte).Array[0, 6].Select(ops =>
        {
            var data = seed.ToList();
            foreach (var (kind, at, v) in ops)
            {
                int n = data.Count, i = n == 0 ? 0 : (int)(at % (uint)n);
                if (kind == 0 && n > 0) data[i] ^= v;
                else if (kind == 1) data.RemoveRange(i, n - i);
                else if (kind == 2) data.Insert(i, "\"{}[]:,0-e.tfn"[v % 14] is var c ? (byte)c : v);
                else if (kind == 3 && n > 0) data.RemoveAt(i);
            }
            return data.ToArray();
        }).Sample(bytes =>
        {
            try { Payload.ReadStart(bytes); }
            catch (ProtocolException) { }
            catch (JsonException) { }
        }, iter: Iter(5000), threads: 1, print: b => Encoding.UTF8.GetString(b));
    }
}
