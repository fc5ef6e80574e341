using System.Text;
using System.Text.Json;

namespace Sandbox.Lifecycle;

/// <summary>
/// Writes a detached sandbox's stdout and stderr to <c>container.log</c> in docker's json-file format, one record per
/// line of output (a partial line is written as its own record when the chunk ends without a newline), each with its
/// stream name and an RFC 3339 UTC timestamp with nanosecond digits. Records are flushed as they are written, so
/// <c>logs -f</c> sees them at once. A full file system (the workload may fill it: its writable layer is on the same
/// one) drops records rather than the sandbox, as docker's json-file driver does; how many were lost is said in one
/// last stderr record when there is room again (at the latest when the sandbox ends and its state reserve is freed).
/// </summary>
public sealed class SandboxLogWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly string _path;
    private readonly Lock _lock = new();
    private long _lost;

    public SandboxLogWriter(string path)
    {
        _path = path;
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
    }

    /// <summary>A write-only stream whose bytes become records of <paramref name="stream"/> ("stdout" or "stderr").</summary>
    public Stream StreamFor(string stream) => new RecordStream(this, stream);

    public void Write(string stream, ReadOnlySpan<byte> data)
    {
        var text = Encoding.UTF8.GetString(data);
        var now = DateTimeOffset.UtcNow;
        var buffer = new MemoryStream();
        int start = 0, records = 0;
        while (start < text.Length)
        {
            int nl = text.IndexOf('\n', start);
            int end = nl < 0 ? text.Length : nl + 1;
            JsonSerializer.Serialize(buffer, new LogRecord(text[start..end], stream, now), LifecycleJsonContext.Default.LogRecord);
            buffer.WriteByte((byte)'\n');
            start = end;
            records++;
        }
        lock (_lock)
        {
            if (_lost > 0)
            {
                if (!TryAppend(LostNotice(now))) { _lost += records; return; }
                _lost = 0;
            }
            if (!TryAppend(buffer)) _lost += records;
        }
    }

    private MemoryStream LostNotice(DateTimeOffset now)
    {
        var notice = new MemoryStream();
        JsonSerializer.Serialize(notice, new LogRecord(
            $"sandbox: {_lost} log record(s) lost: the file system of {_path} was full\n", "stderr", now), LifecycleJsonContext.Default.LogRecord);
        notice.WriteByte((byte)'\n');
        return notice;
    }

    /// <summary>Appends whole records; false when the file system is full (a partial record is cut off again).</summary>
    private bool TryAppend(MemoryStream records)
    {
        long at = _file.Length;
        try
        {
            _file.Write(records.GetBuffer(), 0, (int)records.Length);
            _file.Flush();
            return true;
        }
        catch (IOException e) when (e.HResult is 28 or 122)
        {
            // ENOSPC / EDQUOT: drop what did not fit, so that readers never meet half a record.
            try { _file.SetLength(at); } catch (IOException) { }
            return false;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_lost > 0 && TryAppend(LostNotice(DateTimeOffset.UtcNow))) _lost = 0;
            _file.Dispose();
        }
    }

    private sealed class RecordStream(SandboxLogWriter writer, string name) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => writer.Write(name, buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) => writer.Write(name, buffer);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            writer.Write(name, buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            writer.Write(name, buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }
    }
}
