using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Sandbox.Images.Tests.Registry;

/// <summary>
/// A token server for distribution's token auth, on HttpListener: checks Basic credentials, grants the requested
/// scopes to the known user (nothing to anyone else), and signs the JWT (RS256, via System.IdentityModel.Tokens.Jwt)
/// with a key whose certificate is the registry's <c>rootcertbundle</c>; the header carries it as <c>x5c</c>, which
/// is how distribution 2.8 finds the signing key.
/// </summary>
public sealed class TokenServer : IDisposable
{
    public const string Service = "sandbox-test-registry";
    public const string Issuer = "sandbox-test-token-server";

    /// <summary>The identity token (OAuth2 refresh token) the server accepts for the known user.</summary>
    public const string IdentityToken = "identity-token-for-the-test-user";

    /// <summary>How many token requests came as OAuth2 refresh-token POSTs.</summary>
    public int RefreshTokenPosts => Volatile.Read(ref _posts);

    private int _posts;

    private readonly HttpListener _listener = new();
    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _cert;
    private readonly string _user;
    private readonly string _password;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _requests;

    public TokenServer(string dir, string user, string password)
    {
        _user = user;
        _password = password;
        Directory.CreateDirectory(dir);
        var request = new CertificateRequest("CN=sandbox test token signer", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        _cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CertFile = Path.Combine(dir, "token-signer.crt");
        File.WriteAllText(CertFile, _cert.ExportCertificatePem());
        int port = RegistryServer.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Realm = $"http://127.0.0.1:{port}/token";
        _loop = Task.Run(LoopAsync);
    }

    public string Realm { get; }
    public string CertFile { get; }

    /// <summary>Token requests served so far (to see that tokens are cached per scope).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Scopes asked for, in order.</summary>
    public List<string> Scopes { get; } = [];

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync().ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            try { Serve(context); }
            catch (Exception) { context.Response.Abort(); }
        }
    }

    private void Serve(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        var response = context.Response;
        string? user = null;
        var auth = context.Request.Headers["Authorization"];
        if (auth is not null)
        {
            if (!auth.StartsWith("Basic ", StringComparison.Ordinal)) { Reply(response, 401, "{}"); return; }
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth[6..]));
            if (decoded != $"{_user}:{_password}") { Reply(response, 401, """{"details":"wrong credentials"}"""); return; }
            user = _user;
        }
        var scopes = context.Request.QueryString.GetValues("scope") ?? [];
        if (context.Request.HttpMethod == "POST")
        {
            // OAuth2: grant_type=refresh_token with an identity token, scopes space-separated in one field.
            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8)) body = reader.ReadToEnd();
            var form = body.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2))
                .ToDictionary(kv => Uri.UnescapeDataString(kv[0].Replace('+', ' ')), kv => kv.Length > 1 ? Uri.UnescapeDataString(kv[1].Replace('+', ' ')) : "");
            if (form.GetValueOrDefault("grant_type") != "refresh_token" || form.GetValueOrDefault("refresh_token") != IdentityToken)
            {
                Reply(response, 401, """{"details":"invalid refresh token"}""");
                return;
            }
            Interlocked.Increment(ref _posts);
            user = _user;
            scopes = form.TryGetValue("scope", out var sc) ? sc.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
        }
        lock (Scopes) Scopes.AddRange(scopes);
        var access = new List<object>();
        if (user is not null)
        {
            foreach (var scope in scopes.SelectMany(s => s.Split(' ')))
            {
                var parts = scope.Split(':');
                if (parts.Length < 3) continue;
                access.Add(new Dictionary<string, object>
                {
                    ["type"] = parts[0],
                    ["name"] = string.Join(':', parts[1..^1]),
                    ["actions"] = parts[^1].Split(','),
                });
            }
        }
        var now = DateTimeOffset.UtcNow;
        var header = new JwtHeader(new SigningCredentials(new RsaSecurityKey(_key), SecurityAlgorithms.RsaSha256))
        {
            ["x5c"] = new[] { Convert.ToBase64String(_cert.RawData) },
        };
        var payload = new JwtPayload
        {
            ["iss"] = Issuer,
            ["sub"] = user ?? "",
            ["aud"] = Service,
            ["exp"] = (now + TimeSpan.FromMinutes(5)).ToUnixTimeSeconds(),
            ["nbf"] = (now - TimeSpan.FromSeconds(30)).ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var jwt = new JwtSecurityTokenHandler().WriteToken(new JwtSecurityToken(header, payload));
        Reply(response, 200, context.Request.HttpMethod == "POST"
            ? $$"""{"access_token":"{{jwt}}","expires_in":300}"""
            : $$"""{"token":"{{jwt}}","expires_in":300}""");
    }

    private static void Reply(HttpListenerResponse response, int status, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
        response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try { _loop.Wait(2000); } catch (AggregateException) { }
        _key.Dispose();
        _cert.Dispose();
        _stop.Dispose();
    }
}
