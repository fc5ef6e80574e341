using System.Text;
using System.Text.Json;

namespace Sandbox.Lifecycle;

/// <summary>Reads <c>container.log</c>: all of it, the last N records, or following it as it grows.</summary>
public static class SandboxLogReader
{
    /// <summary>Parses complete lines from <paramref name="offset"/>; returns the records and the offset after the last one.</summary>
    public static (List<LogRecord> Records, long Offset) ReadFrom(string path, long offset)
    {
        var records = new List<LogRecord>();
        if (!File.Exists(path)) return (records, offset);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset > file.Length) offset = 0; // truncated
        file.Position = offset;
        var bytes = new byte[file.Length - offset];
        int read = 0;
        while (read < bytes.Length)
        {
            int n = file.Read(bytes, read, bytes.Length - read);
            if (n == 0) break;
            read += n;
        }
        int start = 0;
        for (int i = 0; i < read; i++)
        {
            if (bytes[i] != (byte)'\n') continue;
            var line = bytes.AsSpan(start, i - start);
            start = i + 1;
            if (line.IsEmpty) continue;
            try
            {
                if (JsonSerializer.Deserialize(line, LifecycleJsonContext.Default.LogRecord) is LogRecord r) records.Add(r);
            }
            catch (JsonException) { /* a torn line from a crash: skip it */ }
        }
        return (records, offset + start);
    }

    public static long EndOffset(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>Writes records to the caller's stdout/stderr streams, optionally with docker's <c>-t</c> timestamps.</summary>
    public static void Emit(IEnumerable<LogRecord> records, Stream stdout, Stream stderr, bool timestamps)
    {
        foreach (var r in records)
        {
            var target = r.Stream == "stderr" ? stderr : stdout;
            var text = timestamps ? r.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'") + " " + r.Log : r.Log;
            target.Write(Encoding.UTF8.GetBytes(text));
        }
        stdout.Flush();
        stderr.Flush();
    }
}
