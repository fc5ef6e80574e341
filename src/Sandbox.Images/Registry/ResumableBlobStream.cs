using Microsoft.Extensions.Logging;

namespace Sandbox.Images.Registry;

/// <summary>
/// Reads a blob over HTTP; when the connection breaks or stays silent longer than the idle timeout, reopens it with
/// <c>Range: bytes=N-</c> and goes on, until the retry budget is spent. It does not check content: the store hashes
/// what comes out, so a resumed blob is verified like any other.
/// </summary>
internal sealed class ResumableBlobStream(RegistryClient client, string repository, string digest, long size,
    RegistryOptions options, ILogger logger, IProgress<long>? progress) : Stream
{
    private Stream? _body;
    private HttpResponseMessage? _response;
    private long _position;
    private int _failures;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => size;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        while (true)
        {
            try
            {
                if (_body is null)
                {
                    var (body, _, response) = await client.OpenBlobAsync(repository, digest, _position, ct).ConfigureAwait(false);
                    _body = body;
                    _response = response;
                }
                int n;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    idle.CancelAfter(options.IdleTimeout);
                    try
                    {
                        n = await _body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                    {
                        throw new RegistryException(RegistryFailure.Timeout,
                            $"{client.Registry}: blob {Digests.Short(digest)} of {repository}: no data for {options.IdleTimeout.TotalSeconds:0.#} s (at byte {_position} of {size})", e);
                    }
                }
                if (n == 0 && _position < size)
                    throw new IOException($"connection closed at byte {_position} of {size}");
                _position += n;
                if (n > 0) progress?.Report(n);
                return n;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or RegistryException { Failure: RegistryFailure.Timeout or RegistryFailure.Network })
            {
                Close(ref _body, ref _response);
                if (++_failures >= options.Attempts)
                {
                    if (e is RegistryException) throw;
                    throw new RegistryException(RegistryFailure.Network,
                        $"{client.Registry}: blob {Digests.Short(digest)} of {repository}: {e.Message} (gave up after {_failures} attempts)", e);
                }
                RegistryLog.ResumingBlob(logger, client.Registry, digest, _position, e.Message);
                await Task.Delay(options.RetryDelay * _failures, ct).ConfigureAwait(false);
            }
        }
    }

    private static void Close(ref Stream? body, ref HttpResponseMessage? response)
    {
        body?.Dispose();
        response?.Dispose();
        body = null;
        response = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Close(ref _body, ref _response);
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
