//! JPEG 2000 (the card's photo format) to PNG, in Rust, before anything reaches a webview.

use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image};

use crate::CardError;

/// A decoded photo ready to show: PNG bytes and its size.
#[derive(Clone, PartialEq, Eq)]
pub struct FacePhoto {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for FacePhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FacePhoto({}x{}, {} B PNG)", self.width, self.height, self.png.len())
    }
}

/// Decodes a JP2 (or raw J2C) image and encodes it as PNG.
pub fn jpeg2000_to_png(jp2: &[u8]) -> Result<FacePhoto, CardError> {
    const BAD: CardError = CardError::Malformed("the photo is not a readable JPEG 2000 image");
    let image = Image::new(jp2, &DecodeSettings::default()).map_err(|_| BAD)?;
    let (width, height) = (image.width(), image.height());
    let mut ctx = DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(|_| BAD)?;
    let pixels = decoded.data_u8();
    let color = match pixels.len() / (width as usize * height as usize).max(1) {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        _ => return Err(BAD),
    };
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|_| BAD)?;
        w.write_image_data(&pixels).map_err(|_| BAD)?;
    }
    Ok(FacePhoto { png: out, width, height })
}
