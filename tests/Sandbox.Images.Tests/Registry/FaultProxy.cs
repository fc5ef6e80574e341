using System.Net;

namespace Sandbox.Images.Tests.Registry;

/// <summary>What the proxy does to one request.</summary>
public enum Fault
{
    None,
    /// <summary>Answer 500 without asking the registry.</summary>
    ServerError,
    /// <summary>Forward, but claim another Docker-Content-Digest.</summary>
    LieAboutDigest,
    /// <summary>Forward with one byte of the body changed.</summary>
    CorruptBody,
    /// <summary>Announce the full length, send half, close the connection.</summary>
    CutMidway,
    /// <summary>Serve only the first half of the body (with a matching Content-Length).</summary>
    Truncate,
    /// <summary>Send the headers and half the body, then go silent.</summary>
    Stall,
}

/// <summary>
/// A tiny HTTP proxy on HttpListener in front of the real registry that injects one fault into chosen requests, and
/// counts what passes (to check that a second pull transfers no blob).
/// </summary>
public sealed class FaultProxy : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false });
    private readonly string _upstreamBase;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public FaultProxy(string upstreamHost)
    {
        _upstreamBase = $"http://{upstreamHost}";
        Port = RegistryServer.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";

    /// <summary>Decides the fault for a request (method, path); the default forwards everything unchanged.</summary>
    public Func<string, string, Fault> Rule { get; set; } = (_, _) => Fault.None;

    private readonly List<string> _requests = [];

    /// <summary>"METHOD path" of every request so far.</summary>
    public IReadOnlyList<string> Requests { get { lock (_requests) return _requests.ToList(); } }

    public void Reset()
    {
        lock (_requests) _requests.Clear();
        Rule = (_, _) => Fault.None;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync().ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            _ = Task.Run(async () =>
            {
                try { await ServeAsync(context).ConfigureAwait(false); }
                catch (Exception) { try { context.Response.Abort(); } catch (ObjectDisposedException) { } }
            });
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        var req = context.Request;
        var path = req.RawUrl ?? "/";
        lock (_requests) _requests.Add($"{req.HttpMethod} {path}");
        var fault = Rule(req.HttpMethod, path);
        var response = context.Response;
        if (fault == Fault.ServerError)
        {
            response.StatusCode = 500;
            response.ContentLength64 = 0;
            response.Close();
            return;
        }
        using var forward = new HttpRequestMessage(new HttpMethod(req.HttpMethod), _upstreamBase + path);
        if (req.HasEntityBody)
        {
            var body = new MemoryStream();
            await req.InputStream.CopyToAsync(body).ConfigureAwait(false);
            forward.Content = new ByteArrayContent(body.ToArray());
        }
        foreach (string name in req.Headers)
        {
            if (name is "Host" or "Connection" or "Content-Length" or "Transfer-Encoding") continue;
            var value = req.Headers[name]!;
            if (!forward.Headers.TryAddWithoutValidation(name, value)) forward.Content?.Headers.TryAddWithoutValidation(name, value);
        }
        using var upstream = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
        var content = await upstream.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        response.StatusCode = (int)upstream.StatusCode;
        foreach (var h in upstream.Headers.Concat(upstream.Content.Headers))
        {
            if (h.Key is "Content-Length" or "Transfer-Encoding" or "Connection") continue;
            var value = string.Join(",", h.Value);
            if (h.Key == "Location") value = value.Replace(_upstreamBase, $"http://{Host}", StringComparison.Ordinal);
            if (h.Key == "Content-Type") response.ContentType = value;
            else response.AddHeader(h.Key, value);
        }
        switch (fault)
        {
            case Fault.LieAboutDigest:
                response.Headers["Docker-Content-Digest"] = "sha256:" + new string('0', 64);
                break;
            case Fault.CorruptBody when content.Length > 0:
                content[content.Length / 2] ^= 0xff;
                break;
        }
        bool head = req.HttpMethod == "HEAD";
        if (head)
        {
            response.ContentLength64 = upstream.Content.Headers.ContentLength ?? 0;
            response.Close();
            return;
        }
        switch (fault)
        {
            case Fault.Truncate:
                response.ContentLength64 = content.Length / 2;
                await response.OutputStream.WriteAsync(content.AsMemory(0, content.Length / 2)).ConfigureAwait(false);
                response.Close();
                return;
            case Fault.CutMidway:
                response.ContentLength64 = content.Length;
                await response.OutputStream.WriteAsync(content.AsMemory(0, content.Length / 2)).ConfigureAwait(false);
                await response.OutputStream.FlushAsync().ConfigureAwait(false);
                response.Abort();
                return;
            case Fault.Stall:
                response.ContentLength64 = content.Length;
                await response.OutputStream.WriteAsync(content.AsMemory(0, content.Length / 2)).ConfigureAwait(false);
                await response.OutputStream.FlushAsync().ConfigureAwait(false);
                try { await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
                response.Abort();
                return;
        }
        response.ContentLength64 = content.Length;
        await response.OutputStream.WriteAsync(content).ConfigureAwait(false);
        response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try { _loop.Wait(2000); } catch (AggregateException) { }
        _upstream.Dispose();
        _stop.Dispose();
    }
}
