using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Sandbox.Images.Registry;

/// <summary>
/// One registry, spoken to over the distribution protocol (HTTP API v2) on <see cref="HttpClient"/>: the first request
/// pings <c>/v2/</c> to learn the scheme (HTTPS; plain HTTP only for a loopback registry that does not speak TLS) and
/// the auth challenge; later requests carry a Basic header or a bearer token fetched from the challenge's realm for
/// the request's scope (cached per scope until it expires). Transient failures (5xx, 429, dropped connections,
/// silence longer than the idle timeout) are retried with backoff. Secrets never appear in messages or logs.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    private static readonly string[] ManifestAccept =
    [
        Oci.MediaTypes.OciManifest, Oci.MediaTypes.OciIndex, Oci.MediaTypes.DockerManifest, Oci.MediaTypes.DockerManifestList,
    ];

    private const int MaxManifestBytes = 4 << 20;

    private readonly RegistryOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _pingLock = new(1, 1);
    private RegistryCredentials? _credentials;
    private bool _credentialsLoaded;
    private Uri? _base;
    private AuthChallenge? _challenge;

    private readonly string? _schemeHints;

    /// <param name="schemeHints">
    /// A directory where the client remembers which loopback registries speak plain HTTP (one empty file per
    /// host:port), so that the next command asks them over HTTP first instead of failing a TLS handshake each time.
    /// </param>
    public RegistryClient(string registry, RegistryOptions options, ILogger logger, string? schemeHints = null)
    {
        Registry = registry;
        _schemeHints = schemeHints;
        _options = options;
        _logger = logger;
        _http = new HttpClient(CreateHandler(registry, options, this), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("sandbox", "1.0"));
    }

    /// <summary>Blobs transferred at once (the options').</summary>
    public int ParallelTransfers => _options.ParallelTransfers;

    /// <summary>host[:port] as written in references (<c>docker.io</c> for Docker Hub).</summary>
    public string Registry { get; }

    private string Endpoint => Registry == RegistryReference.DockerHub ? "registry-1.docker.io" : Registry;

    /// <summary>The scheme in use once pinged (<c>https</c>, or <c>http</c> for a plain loopback registry).</summary>
    public string? Scheme => _base?.Scheme;

    public void Dispose()
    {
        _http.Dispose();
        _pingLock.Dispose();
    }

    // ---- TLS ----

    /// <summary>Why the last server certificate was refused (a TLS registry we do not trust, not a plain-HTTP one).</summary>
    private volatile string? _certificateRejected;

    private static SocketsHttpHandler CreateHandler(string registry, RegistryOptions options, RegistryClient owner)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.IdleTimeout,
            AllowAutoRedirect = true, // Authorization is dropped on redirects (blob storage behind a CDN needs none)
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = true,
        };
        bool verify = !options.InsecureRegistries.Contains(registry);
        var certDir = options.CertDir ?? options.CertsDirectories
            .Select(d => Path.Combine(d, registry.Replace("[", "", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal)))
            .Concat(options.CertsDirectories.Select(d => Path.Combine(d, registry)))
            .FirstOrDefault(Directory.Exists);
        var extraRoots = new X509Certificate2Collection();
        var clientCerts = new X509CertificateCollection();
        if (certDir is not null)
        {
            foreach (var crt in Directory.EnumerateFiles(certDir, "*.crt").Order(StringComparer.Ordinal))
            {
                try { extraRoots.ImportFromPemFile(crt); }
                catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
                {
                    throw new RegistryException(RegistryFailure.Tls, $"{registry}: cannot read the CA certificate {crt}: {e.Message}", e);
                }
            }
            foreach (var cert in Directory.EnumerateFiles(certDir, "*.cert").Order(StringComparer.Ordinal))
            {
                var key = Path.ChangeExtension(cert, ".key");
                if (!File.Exists(key)) throw new RegistryException(RegistryFailure.Tls, $"{registry}: client certificate {cert} has no key {key}");
                try { clientCerts.Add(X509Certificate2.CreateFromPemFile(cert, key)); }
                catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
                {
                    throw new RegistryException(RegistryFailure.Tls, $"{registry}: cannot read the client certificate {cert}: {e.Message}", e);
                }
            }
        }
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = clientCerts.Count > 0 ? clientCerts : null,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (!verify || errors == SslPolicyErrors.None) return true;
                owner._certificateRejected = errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
                    ? "its certificate does not name this host"
                    : $"its certificate is not signed by a trusted CA (put the CA in {Path.Combine(options.CertsDirectories.FirstOrDefault() ?? "/etc/containers/certs.d", registry, "ca.crt")} or use --tls-verify=false)";
                // Only chain errors can be fixed by a registry's own CA; a name mismatch stays an error.
                if (errors != SslPolicyErrors.RemoteCertificateChainErrors || extraRoots.Count == 0 || certificate is null) return false;
                using var custom = new X509Chain();
                custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                custom.ChainPolicy.CustomTrustStore.AddRange(extraRoots);
                custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                if (chain is not null)
                    foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                bool trusted = custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                if (trusted) owner._certificateRejected = null;
                return trusted;
            },
        };
        return handler;
    }

    // ---- ping and auth ----

    private async Task EnsurePingedAsync(CancellationToken ct)
    {
        if (_base is not null) return;
        await _pingLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_base is not null) return;
            var hint = RegistryReference.IsLoopback(Registry) && _schemeHints is not null
                ? Path.Combine(_schemeHints, Registry.Replace('/', '_')) : null;
            if (hint is not null && File.Exists(hint))
            {
                // Plain HTTP last time: ask that first; anything but a registry's answer sends us the usual way.
                try
                {
                    await PingAsync(new Uri($"http://{Endpoint}/"), ct).ConfigureAwait(false);
                    return;
                }
                catch (RegistryException e) when (e.Failure is RegistryFailure.Network or RegistryFailure.Protocol or RegistryFailure.Timeout)
                {
                    TryDelete(hint);
                }
            }
            var https = new Uri($"https://{Endpoint}/");
            try
            {
                await PingAsync(https, ct).ConfigureAwait(false);
                return;
            }
            catch (RegistryException e) when (e.Failure is RegistryFailure.Tls or RegistryFailure.Network && _certificateRejected is null
                                              && RegistryReference.IsLoopback(Registry))
            {
                // docker's rule: a loopback registry may speak plain HTTP.
                RegistryLog.FallingBackToHttp(_logger, Registry, e.Message);
                await PingAsync(new Uri($"http://{Endpoint}/"), ct).ConfigureAwait(false);
                if (hint is not null)
                {
                    try
                    {
                        Directory.CreateDirectory(_schemeHints!);
                        File.WriteAllBytes(hint, []);
                    }
                    catch (Exception x) when (x is IOException or UnauthorizedAccessException) { } // only a hint
                }
            }
        }
        finally
        {
            _pingLock.Release();
        }
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private async Task PingAsync(Uri baseUri, CancellationToken ct)
    {
        using var response = await SendOnceAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "v2/")), "ping", ct).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                _challenge = null;
                break;
            case HttpStatusCode.Unauthorized:
                _challenge = AuthChallenge.From(response.Headers)
                    ?? throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: 401 without a WWW-Authenticate challenge");
                if (_challenge.IsBearer && string.IsNullOrEmpty(_challenge.Realm))
                    throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: bearer challenge without a realm");
                break;
            default:
                throw new RegistryException(RegistryFailure.Protocol,
                    $"{Registry}: not a registry (GET /v2/ answered {(int)response.StatusCode} {response.ReasonPhrase})");
        }
        _base = baseUri;
        RegistryLog.Pinged(_logger, Registry, baseUri.Scheme, _challenge?.Scheme ?? "none");
    }

    private RegistryCredentials? Credentials
    {
        get
        {
            if (!_credentialsLoaded)
            {
                _credentials = _options.ExplicitCredentials ?? _options.Credentials?.Find(Registry);
                _credentialsLoaded = true;
            }
            return _credentials;
        }
    }

    /// <summary>docker's user name for a login whose secret is an identity token (an OAuth2 refresh token).</summary>
    public const string IdentityTokenUser = "<token>";

    private static string BasicValue(RegistryCredentials c) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.Username}:{c.Password}"));

    /// <summary>Checks that the stored or given credentials are accepted (what <c>login</c> does).</summary>
    public async Task VerifyLoginAsync(CancellationToken ct)
    {
        await EnsurePingedAsync(ct).ConfigureAwait(false);
        if (_challenge is null) return; // an open registry accepts anyone
        if (Credentials is null) throw new RegistryException(RegistryFailure.Unauthorized, $"{Registry}: no credentials given");
        if (_challenge.IsBearer)
        {
            await FetchTokenAsync([], _challenge, ct).ConfigureAwait(false);
            return;
        }
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url("v2/")), [], "login", ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
            throw await ErrorAsync(response, "login", ct).ConfigureAwait(false);
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, string[] scopes, AuthChallenge? challenge, CancellationToken ct)
    {
        challenge ??= _challenge;
        if (challenge is null) return;
        if (challenge.IsBasic)
        {
            if (Credentials is { } c) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicValue(c));
            return;
        }
        var token = await GetTokenAsync(scopes, challenge, ct).ConfigureAwait(false);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    private static string ScopeKey(string[] scopes) => string.Join(' ', scopes.Order(StringComparer.Ordinal));

    private async Task<string?> GetTokenAsync(string[] scopes, AuthChallenge challenge, CancellationToken ct)
    {
        var key = ScopeKey(scopes);
        if (_tokens.TryGetValue(key, out var cached) && cached.Expires > DateTimeOffset.UtcNow) return cached.Token;
        return await FetchTokenAsync(scopes, challenge, ct).ConfigureAwait(false);
    }

    /// <summary>GET realm?service=…&amp;scope=… with Basic credentials when there are some (docker's token flow).</summary>
    private async Task<string?> FetchTokenAsync(string[] scopes, AuthChallenge challenge, CancellationToken ct)
    {
        var query = new StringBuilder();
        if (challenge.Service is { } service) query.Append("service=").Append(Uri.EscapeDataString(service));
        foreach (var scope in scopes)
            query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
        var realm = challenge.Realm!;
        var uri = new Uri(realm + (query.Length > 0 ? (realm.Contains('?') ? "&" : "?") + query : ""));
        if (uri.Scheme != "https" && !(uri.Scheme == "http" && RegistryReference.IsLoopback(uri.Authority)))
            throw new RegistryException(RegistryFailure.Tls, $"{Registry}: refusing to send credentials to a token realm over plain HTTP ({uri.Scheme}://{uri.Authority})");
        var creds = Credentials;
        // An identity token (user name "<token>", from an auth file's identitytoken or a credential helper) is an
        // OAuth2 refresh token: POSTed to the realm as a form (docker's flow), never sent as Basic credentials.
        bool identityToken = creds is { Username: IdentityTokenUser };
        for (int attempt = 1; ; attempt++)
        {
            HttpRequestMessage request;
            if (identityToken)
            {
                var form = new List<KeyValuePair<string, string>>
                {
                    new("grant_type", "refresh_token"),
                    new("refresh_token", creds!.Password),
                    new("client_id", "sandbox"),
                };
                if (challenge.Service is { } s) form.Add(new("service", s));
                if (scopes.Length > 0) form.Add(new("scope", string.Join(' ', scopes)));
                request = new HttpRequestMessage(HttpMethod.Post, new Uri(realm)) { Content = new FormUrlEncodedContent(form) };
            }
            else
            {
                request = new HttpRequestMessage(HttpMethod.Get, uri);
                if (creds is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicValue(creds));
            }
            HttpResponseMessage response;
            try
            {
                response = await SendOnceAsync(request, "token", ct).ConfigureAwait(false);
            }
            catch (RegistryException e) when (e.Failure is RegistryFailure.Network or RegistryFailure.Timeout && attempt < _options.Attempts)
            {
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                continue;
            }
            using (response)
            {
                if ((int)response.StatusCode >= 500 && attempt < _options.Attempts)
                {
                    await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                    throw new RegistryException(RegistryFailure.Unauthorized, creds is null
                        ? $"{Registry}: the token server requires a login (sandbox login {Registry})"
                        : identityToken ? $"{Registry}: the token server refused the identity token (from {creds.Source ?? "the stored login"}); log in again"
                        : $"{Registry}: wrong username or password for '{creds.Username}' (token server {uri.Authority})");
                if (response.StatusCode == HttpStatusCode.Forbidden)
                    throw new RegistryException(RegistryFailure.Denied, $"{Registry}: the token server denied access to {string.Join(", ", scopes)}");
                if (!response.IsSuccessStatusCode)
                    throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: token server {uri.Authority} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                var body = await ReadLimitedAsync(response, 1 << 20, "token", ct).ConfigureAwait(false);
                TokenResponse? parsed;
                try { parsed = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.TokenResponse); }
                catch (JsonException e) { throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: the token server's answer is not JSON", e); }
                var token = parsed?.Token is { Length: > 0 } t ? t : parsed?.AccessToken;
                if (string.IsNullOrEmpty(token)) throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: the token server sent no token");
                // Refresh a little early; docker assumes 60 s when the server does not say.
                var lifetime = TimeSpan.FromSeconds(Math.Max(parsed!.ExpiresIn ?? 60, 60));
                _tokens[ScopeKey(scopes)] = (token, DateTimeOffset.UtcNow + lifetime - TimeSpan.FromSeconds(10));
                RegistryLog.TokenFetched(_logger, Registry, ScopeKey(scopes));
                return token;
            }
        }
    }

    // ---- requests ----

    private Uri Url(string relative) => new(_base!, relative);

    private TimeSpan Backoff(int attempt) => _options.RetryDelay * Math.Pow(2, attempt - 1);

    /// <summary>One request with the idle timeout on the headers; transport failures become <see cref="RegistryException"/>.</summary>
    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, string what, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.IdleTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RegistryException(RegistryFailure.Timeout,
                $"{Registry}: {what}: no answer within {_options.IdleTimeout.TotalSeconds:0.#} s", e);
        }
        catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
        {
            throw new RegistryException(RegistryFailure.Tls,
                $"{Registry}: TLS handshake failed: {_certificateRejected ?? e.InnerException.Message}", e);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException(RegistryFailure.Network, $"{Registry}: {what}: {e.Message}", e);
        }
        finally
        {
            request.Dispose();
        }
    }

    /// <summary>
    /// Sends with auth for <paramref name="scopes"/>, retrying transient failures; a 401 with a fresh challenge
    /// (expired token, wider scope needed) gets one new token. Returns any other response for the caller to judge.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, string[] scopes, string what, CancellationToken ct)
    {
        await EnsurePingedAsync(ct).ConfigureAwait(false);
        bool reauthorized = false;
        AuthChallenge? challenge = null;
        for (int attempt = 1; ; attempt++)
        {
            var request = create();
            await AuthorizeAsync(request, scopes, challenge, ct).ConfigureAwait(false);
            HttpResponseMessage response;
            try
            {
                response = await SendOnceAsync(request, what, ct).ConfigureAwait(false);
            }
            catch (RegistryException e) when (e.Failure is RegistryFailure.Network or RegistryFailure.Timeout && attempt < _options.Attempts)
            {
                RegistryLog.Retrying(_logger, Registry, what, attempt, e.Message);
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                continue;
            }
            if (response.StatusCode == HttpStatusCode.Unauthorized && !reauthorized && AuthChallenge.From(response.Headers) is { } fresh
                && (fresh.IsBearer || Credentials is not null))
            {
                response.Dispose();
                reauthorized = true;
                challenge = fresh;
                if (fresh.IsBearer) _tokens.TryRemove(ScopeKey(scopes), out _);
                attempt--;
                continue;
            }
            if (((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests) && attempt < _options.Attempts)
            {
                RegistryLog.Retrying(_logger, Registry, what, attempt, $"{(int)response.StatusCode} {response.ReasonPhrase}");
                var delay = response.Headers.RetryAfter?.Delta is { } d && d < TimeSpan.FromSeconds(30) ? d : Backoff(attempt);
                response.Dispose();
                await Task.Delay(delay, ct).ConfigureAwait(false);
                continue;
            }
            return response;
        }
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, string what, CancellationToken ct)
    {
        if (response.Content.Headers.ContentLength > limit)
            throw new RegistryException(RegistryFailure.Protocol, $"{what}: {response.Content.Headers.ContentLength} bytes is more than the {limit} allowed");
        using var ms = new MemoryStream();
        var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                ms.Write(buffer, 0, n);
                if (ms.Length > limit) throw new RegistryException(RegistryFailure.Protocol, $"{what}: more than the {limit} bytes allowed");
            }
        }
        return ms.ToArray();
    }

    /// <summary>A clear error from a failed response: the registry's own error code and message when it sent them.</summary>
    private async Task<RegistryException> ErrorAsync(HttpResponseMessage response, string what, CancellationToken ct, bool push = false)
    {
        string detail = "";
        try
        {
            var body = await ReadLimitedAsync(response, 64 << 10, what, ct).ConfigureAwait(false);
            var errors = body.Length > 0 ? JsonSerializer.Deserialize(body, RegistryJsonContext.Default.RegistryErrors) : null;
            if (errors?.Errors is { Count: > 0 } list)
                detail = string.Join("; ", list.Select(e => $"{e.Code}: {e.Message}".Trim(' ', ':')));
        }
        catch (Exception e) when (e is JsonException or RegistryException or HttpRequestException or IOException) { }
        var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        var tail = detail.Length > 0 ? $" ({detail})" : $" ({status})";
        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new RegistryException(RegistryFailure.Unauthorized, Credentials is { } c
                ? $"{Registry}: {what}: wrong username or password for '{c.Username}'{tail}"
                : $"{Registry}: {what}: authentication required (sandbox login {Registry}){tail}"),
            HttpStatusCode.Forbidden => new RegistryException(RegistryFailure.Denied, $"{Registry}: {what}: access denied{(push ? " (no push permission?)" : "")}{tail}"),
            HttpStatusCode.NotFound => new RegistryException(RegistryFailure.NotFound, $"{Registry}: {what}: not found{tail}"),
            _ => new RegistryException(RegistryFailure.Protocol, $"{Registry}: {what}: {status}{(detail.Length > 0 ? " (" + detail + ")" : "")}"),
        };
    }

    private static string PullScope(string repository) => $"repository:{repository}:pull";

    private static string PushScope(string repository) => $"repository:{repository}:pull,push";
}
