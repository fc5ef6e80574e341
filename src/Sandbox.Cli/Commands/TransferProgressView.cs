using System.Diagnostics;
using System.Globalization;
using System.Text;
using Sandbox.Images;
using Sandbox.Images.Registry;

namespace Sandbox.Cli;

/// <summary>
/// Shows a pull's or push's progress on stderr, one row per blob with bytes and rate: a live view redrawn in place
/// when stderr is a terminal, else one plain line per blob when it is finished (or found present).
/// </summary>
public sealed class TransferProgressView : IProgress<TransferProgress>, IDisposable
{
    private readonly object _lock = new();
    private readonly bool _live = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
    private readonly List<string> _order = [];
    private readonly Dictionary<string, TransferProgress> _rows = new(StringComparer.Ordinal);
    private readonly HashSet<string> _printed = new(StringComparer.Ordinal);
    private readonly Timer? _timer;
    private readonly string _verb;
    private int _drawn;

    public TransferProgressView(string verb)
    {
        _verb = verb;
        if (_live) _timer = new Timer(_ => Draw(), null, 100, 100);
    }

    public void Report(TransferProgress p)
    {
        lock (_lock)
        {
            if (!_rows.ContainsKey(p.Digest)) _order.Add(p.Digest);
            _rows[p.Digest] = p;
            if (!_live && p.State is TransferState.Done or TransferState.Exists or TransferState.Mounted && _printed.Add(p.Digest))
                Console.Error.WriteLine(Line(p));
        }
    }

    private string Line(TransferProgress p)
    {
        var id = Digests.Short(p.Digest);
        double seconds = Math.Max(p.Elapsed.TotalSeconds, 0.001);
        string rate = ImageCommands.HumanSize((long)(p.Transferred / seconds)) + "/s";
        return p.State switch
        {
            TransferState.Exists => $"{id}: already exists",
            TransferState.Mounted => $"{id}: mounted from another repository",
            TransferState.Waiting => $"{id}: waiting",
            TransferState.Done => string.Create(CultureInfo.InvariantCulture,
                $"{id}: {_verb} {ImageCommands.HumanSize(p.Total)} in {p.Elapsed.TotalSeconds:0.0}s ({rate})"),
            _ => $"{id}: {Bar(p)} {ImageCommands.HumanSize(p.Transferred)}/{ImageCommands.HumanSize(p.Total)} {rate}",
        };
    }

    private static string Bar(TransferProgress p)
    {
        const int width = 30;
        int filled = p.Total > 0 ? (int)Math.Min(width, p.Transferred * width / p.Total) : 0;
        return "[" + new string('=', filled) + (filled < width ? ">" + new string(' ', width - filled - 1) : "") + "]";
    }

    private void Draw()
    {
        lock (_lock)
        {
            var sb = new StringBuilder();
            if (_drawn > 0) sb.Append("\x1b[").Append(_drawn).Append('A');
            foreach (var d in _order) sb.Append("\r\x1b[2K").Append(Line(_rows[d])).Append('\n');
            _drawn = _order.Count;
            Console.Error.Write(sb.ToString());
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        if (_live) Draw();
    }
}
