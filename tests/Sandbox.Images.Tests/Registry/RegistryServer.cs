using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sandbox.Images.Tests.Registry;

/// <summary>
/// Debian's docker-registry (distribution 2.8) on 127.0.0.1 with filesystem storage in a temp dir: plain HTTP with no
/// auth, htpasswd over TLS with a CA the test makes, or token auth against a <see cref="TokenServer"/>.
/// </summary>
public sealed class RegistryServer : IDisposable
{
    public const string User = "tester";
    public const string Password = "s3cret-Pa55";

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    public string Dir { get; }
    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";
    public string? CaDir { get; }
    public TokenServer? Tokens { get; }

    public enum Mode { Plain, TlsHtpasswd, Token }

    public RegistryServer(Mode mode)
    {
        var binary = Tool.Require("docker-registry");
        Dir = Directory.CreateTempSubdirectory("sandbox-registry-").FullName;
        Port = FreePort();
        var config = new StringBuilder($"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Dir}/data
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{Port}
            """);
        config.Append('\n');
        if (mode == Mode.TlsHtpasswd)
        {
            var certs = TestCertificates.Create(Path.Combine(Dir, "certs"));
            CaDir = Path.Combine(Dir, "client-certs");
            Directory.CreateDirectory(CaDir);
            File.Copy(certs.CaFile, Path.Combine(CaDir, "ca.crt"));
            var htpasswd = Tool.Run(Tool.Require("htpasswd"), "-Bbn", User, Password);
            File.WriteAllText(Path.Combine(Dir, "htpasswd"), htpasswd);
            config.Append($"""
                  tls:
                    certificate: {certs.CertFile}
                    key: {certs.KeyFile}
                auth:
                  htpasswd:
                    realm: sandbox-test
                    path: {Dir}/htpasswd
                """).Append('\n');
        }
        if (mode == Mode.Token)
        {
            Tokens = new TokenServer(Path.Combine(Dir, "token"), User, Password);
            config.Append($"""
                auth:
                  token:
                    realm: {Tokens.Realm}
                    service: {TokenServer.Service}
                    issuer: {TokenServer.Issuer}
                    rootcertbundle: {Tokens.CertFile}
                """).Append('\n');
        }
        var configFile = Path.Combine(Dir, "config.yml");
        File.WriteAllText(configFile, config.ToString());
        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(configFile);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitListening();
    }

    public string Log { get { lock (_log) return _log.ToString(); } }

    private void WaitListening()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited) throw new InvalidOperationException($"docker-registry exited ({_process.ExitCode}): {Log}");
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        throw new TimeoutException($"docker-registry did not listen on {Port}: {Log}");
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        Tokens?.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
