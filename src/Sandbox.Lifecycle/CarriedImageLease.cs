using Sandbox.Core;

namespace Sandbox.Lifecycle;

/// <summary>
/// One image resolution for a create followed at once by a start (<c>run -d</c>): the lease that create takes to
/// check the image and record its digest is kept (create's dispose only lets go of its view), and the start's
/// acquisition of the same digest in the same form takes it over instead of resolving the image again. Whatever
/// was not taken over is released with this provider.
/// </summary>
public sealed class CarriedImageLease(IImageProvider images) : IImageProvider, IDisposable
{
    private IImageLease? _kept;
    private RootfsForm _keptForm;

    public async Task<IImageLease> AcquireAsync(string reference, RootfsForm form, CancellationToken cancellationToken = default)
    {
        if (_kept is { } kept && _keptForm == form && (reference == kept.Digest || reference == kept.Name))
        {
            _kept = null;
            return kept; // the start owns it now
        }
        var lease = await images.AcquireAsync(reference, form, cancellationToken).ConfigureAwait(false);
        if (_kept is not null) return lease;
        _kept = lease;
        _keptForm = form;
        return new View(lease);
    }

    public void Dispose()
    {
        _kept?.Dispose();
        _kept = null;
    }

    /// <summary>Create's handle on the kept lease: its dispose keeps the image held for the start.</summary>
    private sealed class View(IImageLease lease) : IImageLease
    {
        public string Digest => lease.Digest;
        public string Name => lease.Name;
        public ImageConfig Config => lease.Config;
        public string RootfsPath => lease.RootfsPath;
        public Sandbox.Interop.Libc.SafeFd? HeldLock => lease.HeldLock;
        public void Dispose() { }
    }
}
