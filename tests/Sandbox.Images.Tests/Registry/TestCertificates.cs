using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sandbox.Images.Tests.Registry;

/// <summary>A CA made by the test, and a server certificate for 127.0.0.1/localhost that it signs (PEM files).</summary>
internal sealed class TestCertificates
{
    public required string CaFile { get; init; }
    public required string CertFile { get; init; }
    public required string KeyFile { get; init; }

    public static TestCertificates Create(string dir)
    {
        Directory.CreateDirectory(dir);
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Sandbox Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));

        var result = new TestCertificates
        {
            CaFile = Path.Combine(dir, "ca.crt"),
            CertFile = Path.Combine(dir, "server.crt"),
            KeyFile = Path.Combine(dir, "server.key"),
        };
        File.WriteAllText(result.CaFile, ca.ExportCertificatePem());
        File.WriteAllText(result.CertFile, cert.ExportCertificatePem());
        File.WriteAllText(result.KeyFile, key.ExportPkcs8PrivateKeyPem());
        return result;
    }
}
