using System.Text;
using System.Text.Json;
using Sandbox.Protocol;
using Xunit;

namespace Sandbox.Protocol.Tests;

/// <summary>
/// exit.json as a holding init writes it: over room the host filled with spaces first (so a full disk cannot refuse
/// the record), from offset 0. What readers parse must survive the spaces after it, and room alone is no record.
/// </summary>
public sealed class ExitRecordTests
{
    [Fact]
    public void ARecordWrittenOverTheSpaceReserveReadsBackWhole()
    {
        var record = new ExitRecord { Code = 143, Signal = 15, Finished = DateTimeOffset.Parse("2026-12-07T03:00:00Z"), LogLost = 2 };
        var file = Enumerable.Repeat((byte)' ', 512).ToArray();
        var json = JsonSerializer.SerializeToUtf8Bytes(record, ControlJsonContext.Default.ExitRecord);
        Assert.True(json.Length < file.Length);
        json.CopyTo(file, 0);
        Assert.Equal(record, JsonSerializer.Deserialize(file, ControlJsonContext.Default.ExitRecord));
        Assert.Contains("\"signal\":15", Encoding.UTF8.GetString(json));
    }

    [Fact]
    public void AControlRequestRoundTripsWithItsExecSpec()
    {
        var request = new ControlRequest { Op = "exec", Exec = new Core.ExecSpec { Args = ["sh", "-c", "exit 7"], Env = ["A=1"], Tty = true, TtyRows = 24, TtyColumns = 80 } };
        var back = JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(request, ControlJsonContext.Default.ControlRequest),
            ControlJsonContext.Default.ControlRequest)!;
        Assert.Equal("exec", back.Op);
        Assert.Equal(["sh", "-c", "exit 7"], back.Exec!.Args);
        Assert.Equal((true, (ushort)24, (ushort)80), (back.Exec.Tty, back.Exec.TtyRows, back.Exec.TtyColumns));
    }
}
